//! The fuzz targets' corpora replayed on stable: every seed and every input a fuzzer
//! once crashed on (`fuzz/corpus/NAME/`, `fuzz/artifacts/NAME/`) goes through the same
//! `keygate::fuzzing` function its cargo-fuzz target calls, so a fixed crash stays
//! fixed without nightly or libFuzzer.

use std::path::Path;

/// The largest single allocation an input may ask for: what the fuzz runs allow
/// (`-rss_limit_mb=2048`, which sets libFuzzer's `-malloc_limit_mb`). Past it the
/// fuzzer reports a crash even where the allocation would fail gracefully.
const MALLOC_LIMIT: usize = 2048 << 20;

/// Feeds every file under `fuzz/corpus/NAME` and `fuzz/artifacts/NAME` to `run`,
/// checks that none asks for more than [`MALLOC_LIMIT`] at once, and returns how
/// many there were.
fn replay(name: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in [
        root.join("corpus").join(name),
        root.join("artifacts").join(name),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            eprintln!("replaying {}", file.display());
            let largest = crate::alloc::largest_during(|| run(&data));
            assert!(
                largest <= MALLOC_LIMIT,
                "{} asked for {largest} bytes at once",
                file.display()
            );
            count += 1;
        }
    }
    count
}

/// The engine target's seeds and crash inputs.
#[test]
fn engine_corpus_replays() {
    assert!(replay("engine", keygate::fuzzing::engine) >= 3);
}

/// The config target's seeds and crash inputs.
#[test]
fn config_corpus_replays() {
    assert!(replay("config", keygate::fuzzing::config) >= 3);
}

/// The baseline target's seeds and crash inputs.
#[test]
fn baseline_corpus_replays() {
    assert!(replay("baseline", keygate::fuzzing::baseline) >= 3);
}

/// The allow-path glob target's seeds and crash inputs.
#[test]
fn allow_paths_corpus_replays() {
    assert!(replay("allow_paths", keygate::fuzzing::allow_paths) >= 3);
}

/// The index fast path target's seeds (real git indexes, versions 2 to 4) and crash
/// inputs.
#[test]
fn index_corpus_replays() {
    assert!(replay("index", keygate::fuzzing::index) >= 3);
}

/// The decoding stage's seeds and crash inputs.
#[test]
fn decode_corpus_replays() {
    assert!(replay("decode", keygate::fuzzing::decode) >= 3);
}

/// The archive readers' seeds and crash inputs.
#[test]
fn unpack_corpus_replays() {
    assert!(replay("unpack", keygate::fuzzing::unpack) >= 3);
}
