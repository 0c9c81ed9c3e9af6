//! Merge and push checks (`--range A..B`) judged by the config and baseline of their
//! base, `A`, with the inline allows a change adds listed for its reviewer.

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{keys, TestEnv};

/// A repository whose `main` allows `fixtures/` and secrets that start
/// `sk-proj-TESTONLY`, and a branch `feature` off it.
fn repo_with_base_config() -> TestEnv {
    let env = TestEnv::git_repo();
    env.write(
        ".keygate.toml",
        "[allow]\npaths = [\"fixtures/\"]\nregexes = ['^sk-proj-TESTONLY']\n",
    );
    env.write("README.md", "base\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "feature"]);
    env
}

/// Runs `keygate scan --range main..feature --format json` plus `extra`.
fn range_json(env: &TestEnv, extra: &[&str]) -> (i32, Value, String) {
    let out = env
        .keygate()
        .args(["scan", "--range", "main..feature", "--format", "json"])
        .args(extra)
        .output()
        .expect("keygate runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {stderr}"));
    (out.status.code().expect("an exit status"), doc, stderr)
}

fn paths(doc: &Value) -> Vec<&str> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect()
}

/// A change that widens `.keygate.toml` to allow its own leak is still reported: the
/// check uses the config of `main`, says so, and the base's allowlist still applies.
#[test]
fn a_change_cannot_allow_its_own_leak_by_config() {
    let env = repo_with_base_config();
    env.write(
        ".keygate.toml",
        "[allow]\npaths = [\"fixtures/\", \"leak/\"]\nsecrets = []\n",
    );
    env.write(
        "leak/prod.env",
        format!("KEY={}\n", keys::openai_project(201)),
    );
    env.write(
        "fixtures/test.env",
        format!("KEY={}\n", keys::openai_project(203)),
    );
    env.commit_all("widen the allowlist");
    let (code, doc, stderr) = range_json(&env, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), ["leak/prod.env"]);
    assert!(
        stderr.contains("`.keygate.toml` differs from `main:.keygate.toml`"),
        "{stderr}"
    );
    // The same files scanned as a folder use the work tree's config, as a user's
    // own scan should.
    env.keygate().args(["scan"]).assert().code(0);
}

/// A change that adds its own leak to the baseline is still reported: the baseline
/// is read from `main`, where it does not hold that entry; an entry `main` holds
/// still suppresses its key wherever the change moves it.
#[test]
fn a_change_cannot_allow_its_own_leak_by_baseline() {
    let env = TestEnv::git_repo();
    let old = keys::openai_project(211);
    env.write("old.py", format!("k = '{old}'\n"));
    env.keygate()
        .args(["baseline", "-o", "b.json"])
        .assert()
        .code(0);
    env.commit_all("accepted key");
    env.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::remove_file(env.path().join("old.py")).unwrap();
    env.write("moved/old.py", format!("\n\nK = \"{old}\"\n"));
    env.write("new.py", format!("k = '{}'\n", keys::openai_project(213)));
    env.keygate()
        .args(["baseline", "--baseline", "b.json", "-o", "b.json"])
        .assert()
        .code(0);
    env.commit_all("move the old key, add a new one and baseline it");

    let (code, doc, stderr) = range_json(&env, &["--baseline", "b.json"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), ["new.py"]);
    assert_eq!(doc["stats"]["suppressed"], 1, "the moved key: {doc}");
    assert!(stderr.contains("differs from `main:b.json`"), "{stderr}");
    // A partial scan reports no stale entries.
    assert!(doc["stats"].get("baseline_stale").is_none(), "{doc}");
}

/// A baseline that `main` lacks does not apply to a change that adds it.
#[test]
fn a_baseline_added_by_the_change_does_not_apply() {
    let env = repo_with_base_config();
    env.write("new.py", format!("k = '{}'\n", keys::openai_project(215)));
    env.keygate()
        .args(["baseline", "-o", "b.json"])
        .assert()
        .code(0);
    env.commit_all("a key and a baseline for it");
    let (code, doc, stderr) = range_json(&env, &["--baseline", "b.json"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(paths(&doc), ["new.py"]);
    assert!(stderr.contains("`main:b.json` does not exist"), "{stderr}");
}

/// Inline allows that the change adds still count, but each is listed: in the human
/// summary and in a JSON `inline_allows` array, which only range scans have.
#[test]
fn inline_allows_added_by_the_change_are_listed() {
    let env = repo_with_base_config();
    env.write(
        "src/client.py",
        format!(
            "import os\nKEY = '{}'  # keygate:allow\n",
            keys::openai_project(221)
        ),
    );
    // Allowed by the base's config as well: not the change's own doing, not listed.
    let test_key = format!(
        "sk-proj-TESTONLY{}T3BlbkFJ{}",
        keys::random(223, 12, keys::BASE62),
        keys::random(224, 20, keys::BASE62)
    );
    env.write("tests/t.py", format!("K = '{test_key}'  # keygate:allow\n"));
    let commit = env.commit_all("add a client");
    let (code, doc, _) = range_json(&env, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(paths(&doc), Vec::<&str>::new());
    assert_eq!(doc["stats"]["suppressed"], 2);
    let allows = doc["inline_allows"].as_array().expect("inline_allows");
    assert_eq!(allows.len(), 1);
    assert_eq!(allows[0]["path"], "src/client.py");
    assert_eq!(allows[0]["line"], 2);
    assert_eq!(allows[0]["suppression"], "inline");
    assert_eq!(allows[0]["commit"]["id"], commit.as_str());

    env.keygate()
        .args(["scan", "--range", "main..feature"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "1 finding is hidden by an inline allow comment that this range adds",
        ))
        .stdout(predicate::str::contains(
            "inline allow: `src/client.py:2:8` openai.project-key `sk-proj-…",
        ))
        .stdout(predicate::str::contains(&commit[..12]));

    let out = env
        .keygate()
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    let folder: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(folder.get("inline_allows").is_none(), "{folder}");
}

/// A bad config at the base stops a merge check with exit 2, named `REV:path` with
/// its line.
#[test]
fn a_bad_config_at_the_base_stops_the_check() {
    let env = TestEnv::git_repo();
    env.write(".keygate.toml", "[allow]\npath = []\n");
    env.commit_all("typo");
    env.git(&["checkout", "-q", "-b", "feature"]);
    env.write(".keygate.toml", "[allow]\npaths = []\n");
    env.commit_all("fix");
    env.keygate()
        .args(["scan", "--range", "main..feature"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "config `main:.keygate.toml`, line 2, column 1: unknown field `path`",
        ));
}
