//! Robustness: awkward input (binary, UTF-16, invalid UTF-8, huge files and lines,
//! unreadable files, FIFOs; links are in `hostile`) and the flags that steer a folder scan,
//! through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{keys, TestEnv};

/// The size of the chunks a stream is scanned in (`sources::CHUNK`).
const CHUNK: usize = 8 << 20;

/// The findings of a `--format json` run.
fn findings(stdout: &[u8]) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(stdout).expect("the output is one JSON document");
    doc["findings"]
        .as_array()
        .expect("`findings` is an array")
        .clone()
}

/// `(path, line, column)` of each finding, in report order.
fn places(stdout: &[u8]) -> Vec<(String, u64, u64)> {
    findings(stdout)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("a path").to_string(),
                f["line"].as_u64().expect("a line"),
                f["column"].as_u64().expect("a column"),
            )
        })
        .collect()
}

/// Runs `keygate scan --format json ARGS` and returns (exit code, stdout, stderr).
fn scan_json(env: &TestEnv, args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = env
        .keygate()
        .args(["scan", "--format", "json"])
        .args(args)
        .output()
        .expect("keygate runs");
    (
        out.status.code().expect("keygate exits, not killed"),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A key in a binary file, between NUL bytes and other non-text bytes, is found.
#[test]
fn a_key_in_a_binary_file_is_found() {
    let env = TestEnv::new();
    let key = keys::openai_project(11);
    let mut bytes = vec![0u8, 1, 2, 0xFF, 0, 0x7F, 0x80];
    bytes.extend_from_slice(key.as_bytes());
    bytes.extend_from_slice(&[0, 0, 0xC3, 0x28, 0]);
    env.write("lib.so", &bytes);
    let (code, stdout, _) = scan_json(&env, &[]);
    assert_eq!(code, 1);
    assert_eq!(places(&stdout), vec![("lib.so".into(), 1, 8)]);
}

/// UTF-16 files with a byte-order mark, little- and big-endian, are decoded, and the
/// key is reported on its line.
#[test]
fn utf16_files_with_a_bom_are_decoded() {
    let env = TestEnv::new();
    let key = keys::openai_project(12);
    let text = format!("first\r\nsecond\r\nOPENAI_API_KEY={key}\r\n");
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend(unit.to_le_bytes());
        be.extend(unit.to_be_bytes());
    }
    env.write("le.txt", &le);
    env.write("be.txt", &be);
    let (code, stdout, _) = scan_json(&env, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&stdout),
        vec![("be.txt".into(), 3, 16), ("le.txt".into(), 3, 16)]
    );
}

/// Invalid UTF-8 right before and after a key neither hides it nor shifts its line.
#[test]
fn invalid_utf8_around_a_key_is_harmless() {
    let env = TestEnv::new();
    let key = keys::openai_legacy(13);
    let mut bytes = b"\xC3\x28 line one \xFF\xFE\n\xE2\x82 ".to_vec();
    bytes.extend_from_slice(key.as_bytes());
    bytes.extend_from_slice(b" \xF0\x28\x8C\xBC\n");
    env.write("broken.txt", &bytes);
    let (code, stdout, _) = scan_json(&env, &[]);
    assert_eq!(code, 1);
    // Each byte of an invalid sequence counts as one column.
    assert_eq!(places(&stdout), vec![("broken.txt".into(), 2, 4)]);
}

/// A file of about `len` bytes of filler lines `line_len` bytes long, with `keys`
/// placed so that each starts exactly at its offset and ends its line; returns the
/// bytes and each key's (line, column).
fn file_with_keys_at(
    len: usize,
    line_len: usize,
    keys: &[(usize, String)],
) -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut bytes: Vec<u8> = Vec::with_capacity(len + 4096);
    let mut places = Vec::new();
    let mut line = 1u64;
    let pad_to = |bytes: &mut Vec<u8>, line: &mut u64, target: usize| {
        while bytes.len() + line_len <= target {
            bytes.resize(bytes.len() + line_len - 1, b'.');
            bytes.push(b'\n');
            *line += 1;
        }
        bytes.resize(target, b'.');
    };
    for (at, key) in keys {
        assert!(bytes.len() < *at, "keys are given in order, well apart");
        pad_to(&mut bytes, &mut line, at - 1);
        bytes.push(b' ');
        let column =
            (bytes.len() - bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)) as u64 + 1;
        places.push((line, column));
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(b'\n');
        line += 1;
    }
    pad_to(&mut bytes, &mut line, len);
    (bytes, places)
}

/// In files of three chunks, keys right at a chunk's nominal end or crossing it,
/// on short lines (where chunks are cut at a line start) and inside lines of 20 KB
/// (where they are cut mid-line), are each found once, on the right line and
/// column, with the whole secret.
#[test]
fn keys_at_and_across_chunk_boundaries_are_found_once() {
    const C: usize = CHUNK;
    let layouts: [(usize, Vec<usize>); 4] = [
        (80, vec![C - 5000, C - 30, C + 200, 2 * C - 30, 2 * C + 100]),
        (80, vec![C - 100, C, 2 * C]),
        (20_000, vec![C - 30, C + 100, 2 * C - 20]),
        (20_000, vec![C - 1, 2 * C, 2 * C + 60]),
    ];
    for (n, (line_len, starts)) in layouts.iter().enumerate() {
        let env = TestEnv::new();
        let keys: Vec<(usize, String)> = starts
            .iter()
            .enumerate()
            .map(|(i, &at)| {
                let seed = (n * 10 + i) as u64;
                // Legacy keys carry their keyword in the middle: the regex must see
                // the bytes before it, even across a boundary.
                let key = if i % 2 == 0 {
                    keys::openai_legacy(seed)
                } else {
                    keys::openai_project(seed)
                };
                (at, key)
            })
            .collect();
        let (bytes, expected) = file_with_keys_at(2 * C + (1 << 20), *line_len, &keys);
        env.write("big.txt", &bytes);
        let (code, stdout, stderr) = scan_json(&env, &["--threads", "1", "--show-secrets"]);
        assert_eq!(code, 1, "{stderr}");
        let expected: Vec<(String, u64, u64)> = expected
            .into_iter()
            .map(|(line, column)| ("big.txt".to_string(), line, column))
            .collect();
        assert_eq!(places(&stdout), expected, "layout {n}");
        for (f, (_, key)) in findings(&stdout).iter().zip(&keys) {
            assert_eq!(f["secret"].as_str(), Some(key.as_str()), "layout {n}");
        }
    }
}

/// A key in the middle of one line of 40 MB (no line break anywhere) is found, at
/// line 1 and the right column, and the scan stays within a small memory limit.
#[test]
fn a_key_in_an_endless_line_is_found_without_memory_blowup() {
    let env = TestEnv::new();
    let key = keys::openai_project(14);
    let half = 20 << 20;
    let mut bytes = vec![b'a'; half];
    bytes.extend_from_slice(b" ");
    bytes.extend_from_slice(key.as_bytes());
    bytes.extend_from_slice(b" ");
    bytes.resize(2 * half, b'b');
    env.write("line.min.js", &bytes);
    if !crate::util::have_tool("prlimit", "it caps keygate's memory") {
        return;
    }
    // Address space is no fair measure (allocators reserve much more than they use);
    // the data segment limit counts what is written to.
    let out = StdCommand::new("prlimit")
        .arg(format!("--data={}", 48 << 20))
        .arg(assert_cmd::cargo::cargo_bin("keygate"))
        .args(["scan", "--format", "json", "--threads", "1", "line.min.js"])
        .current_dir(env.path())
        .output()
        .expect("prlimit runs keygate");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        places(&out.stdout),
        vec![("line.min.js".into(), 1, half as u64 + 2)]
    );
}

/// Copies the test binary where an unprivileged user can run it.
pub(crate) fn world_runnable_binary(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("keygate-bin");
    std::fs::copy(assert_cmd::cargo::cargo_bin("keygate"), &bin).expect("copy the binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

/// An unreadable file is named on stderr and the scan goes on: exit 2 when nothing
/// else is found, 1 when a key is. Root reads any file whatever its mode, so when
/// the tests run as root the scan runs as `nobody` (`setpriv`).
#[test]
fn an_unreadable_file_is_reported_and_the_scan_goes_on() {
    let env = TestEnv::new();
    let root = env.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = world_runnable_binary(root);
    let tree = root.join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    std::fs::set_permissions(&tree, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let secret = tree.join("secret.txt");
    std::fs::write(&secret, "nothing here\n").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    std::fs::write(tree.join("clean.txt"), "nothing to see\n").expect("write");

    if unsafe_free_euid() == 0
        && !crate::util::have_tool(
            "setpriv",
            "root reads any file: it runs keygate as `nobody`",
        )
    {
        return;
    }
    let run = || {
        let is_root = unsafe_free_euid() == 0;
        let mut cmd = if is_root {
            let mut cmd = StdCommand::new("setpriv");
            cmd.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(&bin);
            cmd
        } else {
            StdCommand::new(&bin)
        };
        cmd.args(["scan", "--format", "json", "tree"])
            .current_dir(root)
            .env("NO_COLOR", "1")
            .output()
            .expect("keygate runs")
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`tree/secret.txt`"), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["stats"]["files"], 1, "the readable file was scanned");
    assert_eq!(doc["stats"]["errors"], 1);

    let key = keys::openai_project(15);
    std::fs::write(tree.join("app.env"), format!("KEY={key}\n")).expect("write");
    std::fs::set_permissions(tree.join("app.env"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`tree/secret.txt`"), "{stderr}");
    assert_eq!(places(&out.stdout), vec![("tree/app.env".into(), 1, 5)]);
}

/// The effective user id of this process, from `/proc` (no `unsafe` call needed).
pub(crate) fn unsafe_free_euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .expect("a Uid line")
}

/// A path that does not exist exits 2 and is named; a key found in the other paths
/// still makes it 1.
#[test]
fn a_missing_path_is_named() {
    let env = TestEnv::new();
    env.keygate()
        .args(["scan", "nowhere"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`nowhere`"));
    env.write("a.env", format!("KEY={}\n", keys::openai_project(16)));
    env.keygate()
        .args(["scan", "nowhere", "a.env"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`nowhere`"))
        .stdout(predicate::str::contains("a.env"));
}

/// Empty files and empty folders are scanned without complaint.
#[test]
fn empty_files_are_fine() {
    let env = TestEnv::new();
    env.write("empty.txt", "");
    env.write("sub/also-empty", "");
    std::fs::create_dir(env.path().join("void")).expect("mkdir");
    let (code, stdout, stderr) = scan_json(&env, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let doc: Value = serde_json::from_slice(&stdout).expect("JSON");
    assert_eq!(doc["stats"]["files"], 2);
    assert_eq!(doc["stats"]["bytes"], 0);
}

/// A FIFO in a folder, or named on the command line, is not opened: the scan ends
/// instead of waiting for a writer that never comes.
#[test]
fn a_fifo_is_not_read() {
    let env = TestEnv::new();
    env.write("ok.txt", "fine\n");
    let status = StdCommand::new("mkfifo")
        .arg(env.path().join("pipe"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    env.keygate()
        .args(["scan"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(0);
    env.keygate()
        .args(["scan", "pipe"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(0);
}

/// In a repository, `.git` is not scanned but hidden files such as `.env` are.
#[test]
fn dot_git_is_skipped_and_dot_env_is_scanned() {
    let env = TestEnv::git_repo();
    env.write(
        ".env",
        format!("OPENAI_API_KEY={}\n", keys::openai_project(17)),
    );
    env.write(".git/leak.txt", format!("{}\n", keys::openai_project(18)));
    let (code, stdout, _) = scan_json(&env, &[]);
    assert_eq!(code, 1);
    assert_eq!(places(&stdout), vec![(".env".into(), 1, 16)]);
}

/// `.gitignore` is honoured inside a git work tree, not with `--no-git`, and not in
/// a plain folder.
#[test]
fn gitignore_is_honoured_only_in_a_work_tree() {
    let key = keys::openai_project(19);
    let env = TestEnv::git_repo();
    env.write(".gitignore", "build/\n*.log\n");
    env.write("build/out.txt", format!("{key}\n"));
    env.write("debug.log", format!("{key}\n"));
    env.write("src/app.py", "print('hi')\n");
    let (code, stdout, _) = scan_json(&env, &[]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stdout));
    let (code, stdout, _) = scan_json(&env, &["--no-git"]);
    assert_eq!(code, 1);
    let paths: Vec<String> = places(&stdout).into_iter().map(|p| p.0).collect();
    assert_eq!(paths, vec!["build/out.txt", "debug.log"]);

    let plain = TestEnv::new();
    plain.write(".gitignore", "*.log\n");
    plain.write("debug.log", format!("{key}\n"));
    let (code, _, _) = scan_json(&plain, &[]);
    assert_eq!(code, 1, "a .gitignore outside a work tree means nothing");
}

/// `--max-file-size` skips larger files with a warning that names them, and still
/// scans the smaller ones.
#[test]
fn max_file_size_skips_large_files() {
    let env = TestEnv::new();
    let key = keys::openai_project(20);
    let mut big = format!("KEY={key}\n");
    big.push_str(&"#".repeat(5000));
    env.write("big.txt", &big);
    env.write("small.txt", format!("KEY={}\n", keys::openai_project(21)));
    let (code, stdout, stderr) = scan_json(&env, &["--max-file-size", "1000"]);
    assert_eq!(code, 1);
    assert_eq!(places(&stdout), vec![("small.txt".into(), 1, 5)]);
    assert!(
        stderr.contains("`big.txt`") && stderr.contains("skipped"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&stdout).expect("JSON");
    assert_eq!(doc["stats"]["skipped"], 1);
}

/// `--output FILE` writes the report there and nothing to standard output.
#[test]
fn output_goes_to_the_named_file() {
    let env = TestEnv::new();
    env.write("a.env", format!("KEY={}\n", keys::openai_project(22)));
    env.keygate()
        .args([
            "scan",
            "--format",
            "json",
            "--output",
            "report.json",
            "a.env",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let written = std::fs::read(env.path().join("report.json")).expect("the report exists");
    assert_eq!(places(&written), vec![("a.env".into(), 1, 5)]);
}

/// `--exit-code 7` is the status when keys are found, and only then.
#[test]
fn exit_code_is_configurable() {
    let env = TestEnv::new();
    env.write("clean.txt", "nothing\n");
    env.keygate()
        .args(["scan", "--exit-code", "7"])
        .assert()
        .code(0);
    env.write("a.env", format!("KEY={}\n", keys::openai_project(23)));
    env.keygate()
        .args(["scan", "--exit-code", "7"])
        .assert()
        .code(7);
}

/// `-` and `--stdin` scan standard input, reported as `<stdin>` with its line.
#[test]
fn standard_input_is_scanned() {
    let env = TestEnv::new();
    let input = format!("one\ntwo KEY={}\n", keys::openai_project(24));
    for flag in ["-", "--stdin"] {
        let out = env
            .keygate()
            .args(["scan", "--format", "json", flag])
            .write_stdin(input.clone())
            .output()
            .expect("keygate runs");
        assert_eq!(out.status.code(), Some(1), "{flag}");
        assert_eq!(
            places(&out.stdout),
            vec![("<stdin>".into(), 2, 9)],
            "{flag}"
        );
    }
    env.keygate()
        .args(["scan", "-"])
        .write_stdin("clean\n")
        .assert()
        .code(0);
}

/// Runs keygate on a pseudo-terminal (`script`), where colour is on unless turned
/// off; returns what the terminal showed.
fn on_a_terminal(env: &TestEnv, no_color: Option<&str>) -> String {
    let bin = assert_cmd::cargo::cargo_bin("keygate");
    let mut cmd = StdCommand::new("script");
    cmd.args(["-qec", &format!("{} scan", bin.display()), "/dev/null"])
        .current_dir(env.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    let out = cmd.output().expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// On a terminal the human report is coloured, and `NO_COLOR` turns colour off.
#[test]
fn no_color_turns_colour_off() {
    if !crate::util::have_tool("script", "it runs keygate on a pseudo-terminal") {
        return;
    }
    let env = TestEnv::new();
    env.write("a.env", format!("KEY={}\n", keys::openai_project(25)));
    let coloured = on_a_terminal(&env, None);
    assert!(coloured.contains("a.env"), "{coloured}");
    assert!(
        coloured.contains("\x1b["),
        "colour on a terminal: {coloured:?}"
    );
    let plain = on_a_terminal(&env, Some("1"));
    assert!(plain.contains("a.env"), "{plain}");
    assert!(
        !plain.contains("\x1b["),
        "no colour with NO_COLOR: {plain:?}"
    );
}

/// Output order does not depend on the thread count: many files, many keys, the
/// same report with one thread and with two.
#[test]
fn output_is_deterministic_across_thread_counts() {
    let env = TestEnv::new();
    for dir in 0..8 {
        for file in 0..12 {
            let seed = (dir * 100 + file) * 7;
            let mut text = String::new();
            for line in 0..3 {
                text.push_str(&format!(
                    "a{line} = '{}'  # {}\n",
                    keys::openai_project(seed + line),
                    keys::openai_legacy(seed + line + 50)
                ));
            }
            env.write(&format!("d{dir}/f{file}.py"), text);
        }
    }
    let strip = |stdout: &[u8]| {
        let mut doc: Value = serde_json::from_slice(stdout).expect("JSON");
        doc["stats"]["elapsed_ms"] = Value::Null;
        doc
    };
    let (code, one, _) = scan_json(&env, &["--threads", "1"]);
    assert_eq!(code, 1);
    let (_, two, _) = scan_json(&env, &["--threads", "2"]);
    let one = strip(&one);
    assert_eq!(
        one["findings"].as_array().map(Vec::len),
        Some(8 * 12 * 3 * 2)
    );
    assert_eq!(one, strip(&two));
}

/// A finding as `(path, rule, line, column, secret)`.
type Placed = (String, String, u64, u64, String);

/// Writes, for each offset, three sparse files of `size` bytes, each a single line
/// (zeros around the text) holding one key placed by `offset` from `cut`: a DeepSeek
/// key after its `DEEPSEEK` keyword, the keyword ending at the offset; the same with
/// the keyword on the line above and the line break at the offset; an OpenAI project
/// key starting at the offset. Returns what a scan must find, sorted.
fn keys_around_a_cut(
    env: &TestEnv,
    cut: usize,
    size: usize,
    offsets: std::ops::RangeInclusive<i64>,
) -> Vec<Placed> {
    use std::os::unix::fs::FileExt;
    let cut = cut as i64;
    let write = |path: String, at: i64, text: &str| {
        let file = std::fs::File::create(env.path().join(&path)).unwrap();
        file.set_len(size as u64).unwrap();
        file.write_all_at(text.as_bytes(), at as u64).unwrap();
        path
    };
    let mut expected = Vec::new();
    for (n, offset) in offsets.enumerate() {
        let seed = 1000 + n as u64;
        let deepseek = format!("sk-{}", keys::random(seed, 32, keys::HEX));
        let text = format!(" DEEPSEEK_API_KEY={deepseek} ");
        let at = cut + offset - " DEEPSEEK".len() as i64;
        let column = (at + " DEEPSEEK_API_KEY=".len() as i64 + 1) as u64;
        let path = write(format!("a{n:03}.bin"), at, &text);
        expected.push((path, "deepseek.api-key".into(), 1, column, deepseek));

        let deepseek = format!("sk-{}", keys::random(seed + 500, 32, keys::HEX));
        let text = format!(" deepseek:\n  api_key: {deepseek} ");
        let at = cut + offset - " deepseek:".len() as i64;
        let path = write(format!("b{n:03}.bin"), at, &text);
        expected.push((path, "deepseek.api-key".into(), 2, 12, deepseek));

        let openai = keys::openai_project(seed + 1000);
        let at = cut + offset - 1;
        let path = write(format!("c{n:03}.bin"), at, &format!(" {openai} "));
        expected.push((
            path,
            "openai.project-key".into(),
            1,
            (at + 2) as u64,
            openai,
        ));
    }
    expected.sort();
    expected
}

/// Scans `env` (`--show-secrets`, JSON) with `vars` set and checks that it finds
/// exactly `expected`: each key once, whole, at its place.
fn assert_found_exactly(env: &TestEnv, vars: &[(&str, &str)], expected: &[Placed]) {
    let out = env
        .keygate()
        .envs(vars.iter().copied())
        .args([
            "scan",
            "--format",
            "json",
            "--threads",
            "2",
            "--show-secrets",
        ])
        .output()
        .expect("keygate runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let found: Vec<Placed> = findings(&out.stdout)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["secret"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = expected.iter().filter(|e| !found.contains(e)).collect();
    let extra: Vec<_> = found.iter().filter(|f| !expected.contains(f)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && found.len() == expected.len(),
        "missing {missing:?}\nextra {extra:?}"
    );
}

/// Regression (issue 11): on a line longer than a chunk, a key whose context keyword
/// ended right at a cut was lost, since the next chunk kept a single byte from before
/// the cut (or only the key's own line). At the real chunk size, keys whose keyword
/// or line break lies within two bytes of the first cut (8 MiB) are each found once.
#[test]
fn keys_whose_keyword_ends_at_a_real_cut_are_found_once() {
    let env = TestEnv::new();
    let expected = keys_around_a_cut(&env, CHUNK, CHUNK + (1 << 20), -2..=2);
    assert_found_exactly(&env, &[], &expected);
}

/// The same at every offset from 80 bytes before the first cut to 80 after it, with
/// chunks of 128 KiB (the hidden `KEYGATE_TEST_CHUNK`), so that the 483 files take
/// 120 MiB rather than 4 GiB: every key, after its keyword, below it or alone, is
/// found exactly once, whole, on its line and column.
#[test]
fn keys_and_keywords_at_every_offset_around_a_cut_are_found_once() {
    const SMALL: usize = 128 << 10;
    let env = TestEnv::new();
    let expected = keys_around_a_cut(&env, SMALL, 2 * SMALL, -80..=80);
    assert_found_exactly(&env, &[("KEYGATE_TEST_CHUNK", "131072")], &expected);
}

/// A key that a file holds base64-encoded, on a line longer than a chunk, with the
/// encoded run across the cut at every offset around it (chunks of 128 KiB): the
/// decoding stage sees the whole run in one chunk or the other, and the key is found
/// exactly once, at the encoded text.
#[test]
fn encoded_keys_across_a_cut_are_found_once() {
    const SMALL: usize = 128 << 10;
    let env = TestEnv::new();
    let filler: Vec<u8> = b"lorem ipsum dolor sit amet "
        .iter()
        .copied()
        .cycle()
        .take(2 * SMALL)
        .collect();
    let mut expected = Vec::new();
    for (n, offset) in (-150i64..=150).step_by(5).enumerate() {
        let key = keys::openai_project(3000 + n as u64);
        let encoded = keys::base64(format!("OPENAI_API_KEY={key}").as_bytes());
        let at = (SMALL as i64 + offset - encoded.len() as i64 / 2) as usize;
        let mut text = filler.clone();
        text[at - 1] = b' ';
        text[at..at + encoded.len()].copy_from_slice(encoded.as_bytes());
        text[at + encoded.len()] = b' ';
        let path = format!("e{n:03}.txt");
        env.write(&path, &text);
        // The key starts at byte 15 of the decoded text: base64 character 20.
        expected.push((
            path,
            "openai.project-key".to_string(),
            1,
            (at + 20 + 1) as u64,
            key,
        ));
    }
    expected.sort();
    assert_found_exactly(&env, &[("KEYGATE_TEST_CHUNK", "131072")], &expected);
}
