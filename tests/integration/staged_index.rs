//! `--staged` through the index's cache-tree: the real binary in repositories whose
//! index git wrote with a `TREE` extension (valid, partly invalidated by `git add`,
//! version 4), each compared with the same index written without one, which takes
//! the `git2` diff. Both must report the same findings.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{keys, TestEnv};

fn key_line(seed: u64) -> String {
    format!("OPENAI_API_KEY = \"{}\"\n", keys::openai_project(seed))
}

/// Runs `keygate scan --staged` (with `GIT_INDEX_FILE` when given) and returns the
/// findings of its JSON report and the exit code.
fn staged_findings(env: &TestEnv, index: Option<&Path>) -> (Value, i32) {
    let mut cmd = env.keygate();
    cmd.args(["scan", "--staged", "--format", "json"]);
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    let out = cmd.output().expect("keygate runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        report["findings"].clone(),
        out.status.code().expect("an exit code"),
    )
}

/// The findings as (path, line) pairs.
fn places(findings: &Value) -> Vec<(String, u64)> {
    findings
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().expect("a path").to_string();
            (path, f["line"].as_u64().expect("a line"))
        })
        .collect()
}

/// A copy of the repository's index with the same entries and no cache-tree, as
/// libgit2 writes an index it built entry by entry.
fn index_without_cache_tree(env: &TestEnv) -> PathBuf {
    let repo = git2::Repository::open(env.path()).expect("a repository");
    let index = repo.index().expect("an index");
    let copy = env.path().join(".git").join("index-without-tree");
    let _ = std::fs::remove_file(&copy);
    let mut plain = git2::Index::open(&copy).expect("a new index");
    for entry in index.iter() {
        plain.add(&entry).expect("an entry is copied");
    }
    plain.write().expect("the copy is written");
    let bytes = std::fs::read(&copy).expect("the copy is read");
    assert!(!has_cache_tree(&bytes), "the copy has no cache-tree");
    copy
}

fn has_cache_tree(index: &[u8]) -> bool {
    index.windows(5).any(|w| w == b"TREE\0")
}

/// Asserts that the fast path (git's own index, which has a cache-tree) and the
/// `git2` path (the copy without one) report the same findings, and returns them.
fn same_on_both_paths(env: &TestEnv) -> Vec<(String, u64)> {
    let git_index = std::fs::read(env.path().join(".git/index")).expect("the index");
    assert!(has_cache_tree(&git_index), "git wrote a cache-tree");
    let (fast, fast_code) = staged_findings(env, None);
    let copy = index_without_cache_tree(env);
    let (slow, slow_code) = staged_findings(env, Some(&copy));
    assert_eq!(fast, slow, "the two paths report the same findings");
    assert_eq!(fast_code, slow_code);
    places(&fast)
}

/// A repository of nested folders, one file of which already holds a committed key.
fn repository() -> TestEnv {
    let env = TestEnv::git_repo();
    for (i, path) in [
        "top.py",
        "a/one.py",
        "a/b/two.py",
        "a/b/c/three.py",
        "a0/x.py",
        "d/e/f.py",
    ]
    .iter()
    .enumerate()
    {
        env.write(path, format!("# {path}\nvalue = {i}\n"));
    }
    env.write("a/b/old_key.py", format!("first = 1\n{}", key_line(40)));
    env.commit_all("start");
    env
}

/// Keys staged deep in the tree, in a new folder and beside a committed key are
/// found on their staged lines by both paths, while the committed key is not, and
/// a clean index reports nothing.
#[test]
fn cache_tree_invalidated_by_git_add() {
    let env = repository();
    assert!(same_on_both_paths(&env).is_empty());
    env.write(
        "a/b/c/three.py",
        format!("# three\n{}value = 3\n", key_line(41)),
    );
    env.write("n/m/new.py", key_line(42));
    env.write("a/b/old_key.py", format!("first = 2\n{}", key_line(40)));
    env.write("top.py", format!("# top\nvalue = 0\n{}", key_line(43)));
    env.git(&["add", "."]);
    assert_eq!(
        same_on_both_paths(&env),
        vec![
            ("a/b/c/three.py".to_string(), 2),
            ("n/m/new.py".to_string(), 1),
            ("top.py".to_string(), 3),
        ]
    );
}

/// After `git reset --soft`, every cache-tree node is valid and some differ from
/// HEAD: the keys of the undone commit are staged again and found by both paths;
/// a staged deletion beside them changes nothing.
#[test]
fn valid_cache_tree_that_differs_from_head() {
    let env = repository();
    env.write("a/b/two.py", format!("# two\n{}", key_line(44)));
    env.write("d/e/g.py", key_line(45));
    env.commit_all("keys");
    env.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let expected = vec![("a/b/two.py".to_string(), 2), ("d/e/g.py".to_string(), 1)];
    assert_eq!(same_on_both_paths(&env), expected);
    env.git(&["rm", "-q", "a0/x.py"]);
    env.write("a/one.py", format!("# one\n{}", key_line(46)));
    env.git(&["add", "a/one.py"]);
    let mut with_edit = expected.clone();
    with_edit.insert(1, ("a/one.py".to_string(), 2));
    // An addition beside the deletion: the fast path hands over to `git2`.
    assert_eq!(same_on_both_paths(&env), with_edit);
}

/// A version 4 index (prefix-compressed paths, as `feature.manyFiles` writes) and
/// a deletion beside an edit give the same findings as the `git2` path.
#[test]
fn index_version_4_and_deletions() {
    let env = repository();
    env.git(&["rm", "-q", "a/b/two.py"]);
    env.write(
        "a/b/c/three.py",
        format!("# three\nvalue = 3\n{}", key_line(47)),
    );
    env.git(&["add", "a/b/c/three.py"]);
    env.git(&["update-index", "--index-version", "4"]);
    let index = std::fs::read(env.path().join(".git/index")).expect("the index");
    assert_eq!(&index[4..8], &[0, 0, 0, 4], "a version 4 index");
    assert_eq!(
        same_on_both_paths(&env),
        vec![("a/b/c/three.py".to_string(), 3)]
    );
}
