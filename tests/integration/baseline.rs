//! Baselines through the real binary: `keygate baseline` writes them, `--baseline`
//! applies them, moved code keeps its entries, stale entries are reported and pruned.

use predicates::prelude::*;
use serde_json::Value;

use crate::suppress::{places, scan_json};
use crate::util::{keys, TestEnv};

/// The entries of a baseline file, as `(rule_id, fingerprint)`.
fn entries(env: &TestEnv, file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(env.path().join(file)).expect("the baseline exists");
    let doc: Value = serde_json::from_str(&text).expect("the baseline is JSON");
    assert_eq!(doc["version"], 1);
    doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["rule_id"].as_str().expect("rule_id").to_string(),
                e["fingerprint"].as_str().expect("fingerprint").to_string(),
            )
        })
        .collect()
}

/// `keygate baseline --output FILE` records each finding by rule and fingerprint, one
/// entry a line, sorted, never with the secret or its path; a scan with `--baseline`
/// then passes and counts the findings as suppressed.
#[test]
fn a_baseline_records_and_suppresses_findings() {
    let env = TestEnv::new();
    let (a, b) = (keys::openai_project(21), keys::openai_legacy(23));
    env.write(
        "app/settings.py",
        format!("A = '{a}'\nB = '{b}'\nA2 = '{a}'\n"),
    );
    env.keygate()
        .args(["baseline", "--output", "keygate-baseline.json"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("2 entries (2 new, 0 kept)"));
    let text = std::fs::read_to_string(env.path().join("keygate-baseline.json")).unwrap();
    assert!(!text.contains(&a[8..]) && !text.contains(&b[8..]), "{text}");
    assert!(!text.contains("settings.py"), "{text}");
    assert_eq!(text.lines().count(), 7, "one entry a line: {text}");
    let recorded = entries(&env, "keygate-baseline.json");
    let mut sorted = recorded.clone();
    sorted.sort();
    assert_eq!(recorded, sorted);
    assert_eq!(recorded[0].0, "openai.legacy-key");

    let (code, doc) = scan_json(&env, &["--baseline", "keygate-baseline.json"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["suppressed"], 3);
    assert!(doc["stats"].get("baseline_stale").is_none(), "{doc}");
}

/// A baselined key that moves to another file and is reformatted keeps its entry; a
/// new key beside it is still reported.
#[test]
fn moved_and_reformatted_code_keeps_its_entry() {
    let env = TestEnv::new();
    let key = keys::openai_project(25);
    env.write(
        "src/old.py",
        format!("client = OpenAI(api_key=\"{key}\")\n"),
    );
    env.keygate()
        .args(["baseline", "-o", "b.json"])
        .assert()
        .code(0);
    std::fs::remove_file(env.path().join("src/old.py")).unwrap();
    env.write(
        "lib/deep/new_name.py",
        format!("\n\n\ndef make():\n    return OpenAI(\n        api_key='{key}',\n    )\n"),
    );
    let (code, doc) = scan_json(&env, &["--baseline", "b.json"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["suppressed"], 1);

    env.write(
        "lib/more.py",
        format!("k = '{}'\n", keys::openai_project(27)),
    );
    let (code, doc) = scan_json(&env, &["--baseline", "b.json"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(places(&doc), [("lib/more.py".to_string(), 1)]);
}

/// An entry that matches nothing any more is reported as stale (a note on stderr,
/// `stats.baseline_stale` in JSON); `--prune` rewrites the baseline without it and
/// never adds a new finding to it.
#[test]
fn stale_entries_are_reported_and_pruned() {
    let env = TestEnv::new();
    env.write("a.env", format!("A={}\n", keys::openai_project(31)));
    env.write("b.env", format!("B={}\n", keys::openai_project(33)));
    env.keygate()
        .args(["baseline", "-o", "b.json"])
        .assert()
        .code(0);
    let before = entries(&env, "b.json");
    assert_eq!(before.len(), 2);

    std::fs::remove_file(env.path().join("a.env")).unwrap();
    env.keygate()
        .args(["scan", "--baseline", "b.json"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "1 of the 2 entries of baseline `b.json` matched no finding",
        ))
        .stderr(predicate::str::contains("--prune"));
    let (_, doc) = scan_json(&env, &["--baseline", "b.json"]);
    assert_eq!(doc["stats"]["baseline_stale"], 1);

    env.write("c.env", format!("C={}\n", keys::openai_project(35)));
    env.keygate()
        .args(["baseline", "--baseline", "b.json", "--prune"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "1 entry (0 new, 1 kept, 1 stale dropped)",
        ))
        .stderr(predicate::str::contains("1 finding is not in the baseline"));
    let after = entries(&env, "b.json");
    assert_eq!(after.len(), 1);
    assert!(before.contains(&after[0]));
    let (code, doc) = scan_json(&env, &["--baseline", "b.json"]);
    assert_eq!(code, 1, "the new key was not accepted by pruning: {doc}");
    assert_eq!(places(&doc), [("c.env".to_string(), 1)]);
}

/// Without `--prune`, an existing baseline is extended: old entries are kept (even
/// stale ones, for scans of part of a tree) and new findings added. The file is the
/// same bytes whatever the thread count.
#[test]
fn extending_a_baseline_keeps_old_entries_and_is_deterministic() {
    let env = TestEnv::new();
    env.write("one/a.txt", format!("{}\n", keys::openai_project(41)));
    env.write("two/b.txt", format!("{}\n", keys::openai_project(43)));
    env.keygate()
        .args(["baseline", "one", "-o", "b.json"])
        .assert()
        .code(0);
    env.keygate()
        .args(["baseline", "two", "--baseline", "b.json", "-o", "b.json"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("2 entries (1 new, 1 kept)"));
    assert_eq!(entries(&env, "b.json").len(), 2);
    let (code, _) = scan_json(&env, &["--baseline", "b.json"]);
    assert_eq!(code, 0);

    for i in 0..30 {
        env.write(
            &format!("many/{i}.py"),
            format!("k = '{}'\n", keys::openai_project(100 + i)),
        );
    }
    let one = env
        .keygate()
        .args(["baseline", "--threads", "1"])
        .output()
        .unwrap();
    let four = env
        .keygate()
        .args(["baseline", "--threads", "4"])
        .output()
        .unwrap();
    assert!(one.status.success());
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(String::from_utf8_lossy(&one.stdout).lines().count(), 32 + 5);
}

/// `--prune` without `--baseline`, and a baseline that is not one, stop with exit 2
/// and name the problem.
#[test]
fn baseline_misuse_is_an_error() {
    let env = TestEnv::new();
    env.write("x.txt", "nothing\n");
    env.keygate()
        .args(["baseline", "--prune"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--baseline FILE"));
    env.write("bad.json", "{\"entries\": 3}");
    env.keygate()
        .args(["scan", "--baseline", "bad.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("baseline `bad.json`"));
}
