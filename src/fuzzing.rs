//! Entry points for the fuzz targets in `fuzz/`, one function a parser keygate
//! runs on input that other people wrote.
//!
//! Each cargo-fuzz target is one line that calls the function of the same name, and
//! `tests/fuzz_corpus.rs` feeds every file of `fuzz/corpus/NAME/` and
//! `fuzz/artifacts/NAME/` to the same function on stable `cargo test`, so a crash the
//! fuzzer once found stays fixed without nightly. The functions only check that the
//! code does not panic, hang or overflow: errors are a fine answer to bad input.
//! They are not part of keygate's stable API.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::baseline::Baseline;
use crate::config::Config;
use crate::engine::{Scanner, Scratch};
use crate::rules::RuleSet;
use crate::sources::git::cache_tree;

/// The scanner over the built-in rules, built once: building it per input would make
/// the fuzzer measure the automaton build instead of the scan.
fn builtin_scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| {
        let rules = RuleSet::builtin().expect("the built-in rules load");
        Scanner::new(rules).expect("the built-in rules build a scanner")
    })
}

/// The engine on arbitrary bytes with the built-in rules, and the inline-allow check
/// at every match, as every source runs them.
pub fn engine(data: &[u8]) {
    let scanner = builtin_scanner();
    let mut scratch = Scratch::default();
    let mut matches = Vec::new();
    scanner.scan(data, &mut scratch, &mut matches);
    for found in &matches {
        assert!(found.secret.start <= found.secret.end && found.secret.end <= data.len());
        crate::suppress::inline_allowed(data, found.secret.start);
    }
}

/// `.keygate.toml` text through every check `keygate config check` makes: parse,
/// custom rules added and proven by their examples, allowlists built.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_text(text.to_string(), "fuzz.toml".into(), None) else {
        return;
    };
    let Ok(mut rules) = RuleSet::builtin() else {
        return;
    };
    if config.apply_to_rules(&mut rules).is_err() {
        return;
    }
    if config.suppressor(Path::new("/fuzz")).is_err() {
        return;
    }
    if let Ok(scanner) = Scanner::new(rules) {
        let _ = crate::commands::rules::prove_custom_rules(&scanner, &config);
    }
}

/// A baseline file, and a lookup in it.
pub fn baseline(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(baseline) = Baseline::parse(text, "fuzz.json".into()) {
        baseline.check("0000");
        let _ = baseline.usage();
    }
}

/// One `[allow] paths` glob (the first line of the input) against one path (the
/// rest), through the config as a user would write it.
pub fn allow_paths(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (glob, path) = text.split_once('\n').unwrap_or((&text, "src/a.py"));
    let toml = format!(
        "[allow]\npaths = [{}]\n",
        toml::Value::String(glob.to_string())
    );
    let Ok(config) = Config::from_text(toml, "fuzz.toml".into(), Some(PathBuf::from("/fuzz")))
    else {
        return;
    };
    if let Ok(suppressor) = config.suppressor(Path::new("/fuzz")) {
        suppressor.path_allowed(path);
    }
}

/// The index fast path of `--staged`: an index file decoded, then compared with an
/// unborn HEAD and with a small HEAD tree (`a.txt`, `dir/b.txt`).
pub fn index(data: &[u8]) {
    let Some(index) = cache_tree::read(data) else {
        return;
    };
    let Some(repo) = index_repo() else {
        return;
    };
    let Ok(repo) = git2::Repository::open(repo) else {
        return;
    };
    let _ = cache_tree::diff(&repo, None, &index);
    let head = repo.head().and_then(|head| head.peel_to_tree());
    if let Ok(tree) = head {
        let _ = cache_tree::diff(&repo, Some(&tree), &index);
    }
}

/// A repository for [`index`], made once per process in a temporary folder that lives
/// as long as the process.
fn index_repo() -> Option<&'static Path> {
    static REPO: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    REPO.get_or_init(|| {
        let dir = tempfile::tempdir().ok()?;
        let repo = git2::Repository::init_bare(dir.path()).ok()?;
        let blob_a = repo.blob(b"a\n").ok()?;
        let blob_b = repo.blob(b"b\n").ok()?;
        let mut sub = repo.treebuilder(None).ok()?;
        sub.insert("b.txt", blob_b, 0o100644).ok()?;
        let sub = sub.write().ok()?;
        let mut root = repo.treebuilder(None).ok()?;
        root.insert("a.txt", blob_a, 0o100644).ok()?;
        root.insert("dir", sub, 0o040000).ok()?;
        let tree = repo.find_tree(root.write().ok()?).ok()?;
        let who = git2::Signature::now("fuzz", "fuzz@example.com").ok()?;
        repo.commit(Some("HEAD"), &who, &who, "fuzz", &tree, &[])
            .ok()?;
        Some(dir)
    })
    .as_ref()
    .map(tempfile::TempDir::path)
}

/// The decoding stage on arbitrary bytes, to its default depth: every view maps each
/// of its bytes inside the input, and the engine scans every view.
pub fn decode(data: &[u8]) {
    let mut views = Vec::new();
    crate::decode::decode(data, crate::decode::DEFAULT_DEPTH, None, &mut views);
    let scanner = builtin_scanner();
    let mut scratch = Scratch::default();
    let mut matches = Vec::new();
    for view in &views {
        for i in 0..view.bytes.len() {
            let place = view.original(i..i + 1);
            assert!(place.start < place.end && place.end <= data.len());
        }
        matches.clear();
        scanner.scan(&view.bytes, &mut scratch, &mut matches);
    }
}

/// The archive readers on arbitrary bytes, with small limits so that a bomb the
/// fuzzer builds costs little: every member is read to its end.
pub fn unpack(data: &[u8]) {
    struct Drain;
    impl crate::unpack::Sink for Drain {
        fn member(&mut self, _path: &str, content: &mut dyn std::io::Read) -> std::io::Result<()> {
            std::io::copy(content, &mut std::io::sink()).map(|_| ())
        }
    }
    let Some(format) = crate::unpack::sniff(data) else {
        return;
    };
    let limits = crate::unpack::Limits {
        archive_bytes: 4 << 20,
        member_bytes: 1 << 20,
        ..crate::unpack::Limits::default()
    };
    crate::unpack::unpack(format, &mut &data[..], &limits, &mut Drain);
}
