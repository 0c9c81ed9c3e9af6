//! Git sources through the real binary: `--staged`, `--history` and `--range`, in
//! temporary repositories shaped like the cases that break scanners (first commits,
//! renames, binary files, submodules, worktrees, missing objects, shallow and bare
//! clones).

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{git_in, keys, TestEnv};

/// Runs keygate with JSON output and returns the parsed report and the exit code.
fn json_report(env: &TestEnv, dir: &Path, args: &[&str]) -> (Value, i32) {
    let out = env
        .keygate()
        .current_dir(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("keygate runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code().expect("an exit code"))
}

/// The findings of a report as (path, line) pairs.
fn places(report: &Value) -> Vec<(String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("a path").to_string(),
                f["line"].as_u64().expect("a line"),
            )
        })
        .collect()
}

fn key_line(seed: u64) -> String {
    format!("OPENAI_API_KEY = \"{}\"\n", keys::openai_project(seed))
}

/// A key on a staged line blocks the first commit (unborn HEAD): exit 1, the path and
/// the staged line number, the key redacted.
#[test]
fn a_staged_key_in_the_first_commit_is_blocked() {
    let env = TestEnv::git_repo();
    let key = keys::openai_project(1);
    env.write("app.py", format!("import os\n\nKEY = \"{key}\"\n"));
    env.git(&["add", "app.py"]);
    env.keygate()
        .args(["scan", "--staged"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app.py"))
        .stdout(predicate::str::contains("3:8"))
        .stdout(predicate::str::contains("openai.project-key"))
        .stdout(predicate::str::contains(key.as_str()).not());
}

/// Only what the index adds counts: an unstaged key in the work tree is not scanned,
/// and a later unrelated change to a file that already holds a committed key passes;
/// a key added to that file is found on its staged line.
#[test]
fn only_added_lines_count() {
    let env = TestEnv::git_repo();
    env.write("config.py", format!("# settings\n{}", key_line(2)));
    env.commit_all("a key slipped in earlier");
    env.write(
        "config.py",
        format!("# settings\n{}DEBUG = True\n", key_line(2)),
    );
    env.git(&["add", "config.py"]);
    env.write("unstaged.py", key_line(3));
    env.keygate().args(["scan", "--staged"]).assert().code(0);

    env.write(
        "config.py",
        format!("# settings\n{}DEBUG = True\n{}", key_line(2), key_line(4)),
    );
    env.git(&["add", "config.py"]);
    let (report, code) = json_report(&env, env.path(), &["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(places(&report), vec![("config.py".to_string(), 4)]);
}

/// A rename passes when it only moves a key already committed, and is blocked at the
/// new path when it also adds one; a staged deletion passes.
#[test]
fn renames_and_deletions() {
    let env = TestEnv::git_repo();
    let body = format!("line one\nline two\nline three\n{}", key_line(5));
    env.write("old.py", &body);
    env.write("gone.py", key_line(6));
    env.commit_all("start");
    env.git(&["mv", "old.py", "new.py"]);
    env.git(&["rm", "-q", "gone.py"]);
    env.keygate().args(["scan", "--staged"]).assert().code(0);

    env.write("new.py", format!("{body}{}", key_line(7)));
    env.git(&["add", "new.py"]);
    let (report, code) = json_report(&env, env.path(), &["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(places(&report), vec![("new.py".to_string(), 5)]);
}

/// Binary files have no lines: a new binary file with a key is blocked, and a change
/// to a binary file that keeps its old key and adds none passes.
#[test]
fn binary_files() {
    let env = TestEnv::git_repo();
    let mut blob = b"\x00\x01PNG\x00".to_vec();
    blob.extend(key_line(8).as_bytes());
    env.write("image.bin", &blob);
    env.git(&["add", "image.bin"]);
    env.keygate()
        .args(["scan", "--staged"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("image.bin"));
    env.commit_all("binary");
    blob.extend(b"\x00more bytes\x00");
    env.write("image.bin", &blob);
    env.git(&["add", "image.bin"]);
    env.keygate().args(["scan", "--staged"]).assert().code(0);
}

/// A submodule is not entered: a key committed inside it is not reported when the
/// submodule is staged in the parent.
#[test]
fn submodules_are_not_entered() {
    let env = TestEnv::git_repo();
    let inner = env.path().join("vendor/lib");
    std::fs::create_dir_all(&inner).expect("a folder");
    git_in(&inner, &["init", "-q", "-b", "main"]);
    std::fs::write(inner.join("secret.py"), key_line(9)).expect("a file");
    git_in(&inner, &["add", "secret.py"]);
    git_in(
        &inner,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "inner",
        ],
    );
    env.git(&["add", "vendor/lib"]);
    let staged = env.git(&["ls-files", "-s", "vendor/lib"]);
    assert!(staged.starts_with("160000"), "a gitlink: {staged}");
    env.keygate().args(["scan", "--staged"]).assert().code(0);
}

/// An intent-to-add entry (`git add -N`) stages no content, so its key is not what
/// the commit adds; staging it for real is blocked.
#[test]
fn intent_to_add_stages_nothing() {
    let env = TestEnv::git_repo();
    env.write("README.md", "hello\n");
    env.commit_all("start");
    env.write("later.py", key_line(10));
    env.git(&["add", "-N", "later.py"]);
    env.keygate().args(["scan", "--staged"]).assert().code(0);
    env.git(&["add", "later.py"]);
    env.keygate().args(["scan", "--staged"]).assert().code(1);
}

/// `--staged` works in a linked worktree (its own index) and from a subfolder, with
/// paths relative to the repository root.
#[test]
fn linked_worktrees_and_subfolders() {
    let env = TestEnv::git_repo();
    env.write("README.md", "hello\n");
    env.commit_all("start");
    let linked = env.path().join("linked");
    env.git(&["worktree", "add", "-q", "-b", "feature", "linked"]);
    std::fs::create_dir_all(linked.join("src/deep")).expect("folders");
    std::fs::write(linked.join("src/deep/app.py"), key_line(11)).expect("a file");
    git_in(&linked, &["add", "src/deep/app.py"]);
    // The main work tree's index is untouched.
    env.keygate().args(["scan", "--staged"]).assert().code(0);
    let (report, code) = json_report(&env, &linked.join("src"), &["scan", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(places(&report), vec![("src/deep/app.py".to_string(), 1)]);
}

/// Outside a repository every git scan exits 2 and says why.
#[test]
fn outside_a_repository_is_an_error() {
    let env = TestEnv::new();
    for mode in ["--staged", "--history"] {
        env.keygate()
            .args(["scan", mode])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not in a git repository"));
    }
    env.keygate()
        .args(["scan", "--range", "a..b"])
        .assert()
        .code(2);
}

/// A key added in one commit and deleted in the next is found by `--history`, once,
/// at its path, attributed to the commit that added it (id, author, email, RFC 3339
/// date, summary), even though a later commit changed the file around it.
#[test]
fn history_finds_a_deleted_key_with_its_commit() {
    let env = TestEnv::git_repo();
    env.write("app.py", "print('hi')\n");
    env.commit_all("start");
    env.write("app.py", format!("print('hi')\n{}", key_line(12)));
    let added = env.commit_all("add the client");
    env.write("app.py", format!("# header\nprint('hi')\n{}", key_line(12)));
    env.commit_all("touch it");
    env.write("app.py", "print('hi')\n");
    env.commit_all("remove the key");
    env.write("app.py", "print('bye')\n");
    env.keygate().args(["scan", "--staged"]).assert().code(0);

    // Both ways of reading blobs: a `git cat-file` stream, and libgit2 alone.
    for no_git_process in [false, true] {
        let mut cmd = env.keygate();
        if no_git_process {
            cmd.env("KEYGATE_NO_GIT_PROCESS", "1");
        }
        let out = cmd
            .args(["scan", "--history", "--format", "json"])
            .output()
            .expect("keygate runs");
        assert_eq!(out.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(places(&report), vec![("app.py".to_string(), 2)]);
        let commit = &report["findings"][0]["commit"];
        assert_eq!(commit["id"], added.as_str());
        assert_eq!(commit["author"], "Test User");
        assert_eq!(commit["email"], "test@example.com");
        assert_eq!(commit["date"], "2024-01-02T03:04:05Z");
        assert_eq!(commit["summary"], "add the client");
    }
}

/// The same blob at two paths is reported at both; `--rev` limits the walk to what a
/// revision reaches. Each `--rev` run must also find what its revision does hold, and
/// count the blobs it read, so that a walker that scans nothing cannot pass.
#[test]
fn history_reports_each_path_and_honours_rev() {
    let env = TestEnv::git_repo();
    env.write("README.md", "hello\n");
    let start = env.commit_all("start");
    env.write("main.env", key_line(21));
    env.commit_all("a key on main");
    env.git(&["checkout", "-q", "-b", "leak"]);
    env.write("a/one.env", key_line(13));
    env.write("b/two.env", key_line(13));
    env.commit_all("two copies");
    env.git(&["checkout", "-q", "main"]);
    let (report, code) = json_report(&env, env.path(), &["scan", "--history"]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&report),
        vec![
            ("a/one.env".to_string(), 1),
            ("b/two.env".to_string(), 1),
            ("main.env".to_string(), 1)
        ]
    );
    // `main` reaches its own key, and not the branch's.
    let (report, code) = json_report(&env, env.path(), &["scan", "--history", "--rev", "main"]);
    assert_eq!(
        (code, places(&report)),
        (1, vec![("main.env".to_string(), 1)])
    );
    assert_eq!(
        report["stats"]["blobs"], 2,
        "README.md and main.env: {report}"
    );
    // `leak` reaches all three.
    let (report, code) = json_report(&env, env.path(), &["scan", "--history", "--rev", "leak"]);
    assert_eq!((code, places(&report).len()), (1, 3));
    // The first commit holds README.md only: it is read, and nothing is found.
    let (report, code) = json_report(&env, env.path(), &["scan", "--history", "--rev", &start]);
    assert_eq!((code, places(&report)), (0, vec![]));
    assert_eq!(report["stats"]["blobs"], 1, "README.md was read: {report}");
    assert!(report["stats"]["bytes"].as_u64() >= Some(6), "{report}");
}

/// `--range` reports what the commits in B but not in A add: the adding commit inside
/// the range is found and named; a range after it finds nothing; a merge is
/// attributed to the branch commit that added the key, not to the merge.
#[test]
fn range_inside_and_outside_the_adding_commit() {
    let env = TestEnv::git_repo();
    env.write("app.py", "print('hi')\n");
    let base = env.commit_all("start");
    env.git(&["checkout", "-q", "-b", "feature"]);
    env.write("app.py", format!("print('hi')\n{}", key_line(14)));
    let adding = env.commit_all("add a key");
    env.write("other.py", "x = 1\n");
    let after = env.commit_all("unrelated");
    env.git(&["checkout", "-q", "main"]);
    env.write("main.py", "y = 2\n");
    env.commit_all("main moves on");
    env.git(&["merge", "-q", "--no-edit", "--no-ff", "feature"]);
    let merge = env.git(&["rev-parse", "HEAD"]).trim().to_string();

    let (report, code) = json_report(
        &env,
        env.path(),
        &["scan", "--range", &format!("{base}..{after}")],
    );
    assert_eq!(code, 1);
    assert_eq!(places(&report), vec![("app.py".to_string(), 2)]);
    assert_eq!(report["findings"][0]["commit"]["id"], adding.as_str());

    let (report, code) = json_report(
        &env,
        env.path(),
        &["scan", "--range", &format!("{adding}..{after}")],
    );
    assert_eq!((code, places(&report)), (0, vec![]));

    let (report, code) = json_report(
        &env,
        env.path(),
        &["scan", "--range", &format!("{base}..{merge}")],
    );
    assert_eq!(code, 1);
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["commit"]["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, vec![adding.as_str()]);
}

/// A merge that adds a key itself (an edit made while resolving) is attributed to the
/// merge commit.
#[test]
fn range_reports_what_a_merge_adds_itself() {
    let env = TestEnv::git_repo();
    env.write("app.py", "a = 1\n");
    let base = env.commit_all("start");
    env.git(&["checkout", "-q", "-b", "side"]);
    env.write("side.py", "s = 1\n");
    env.commit_all("side work");
    env.git(&["checkout", "-q", "main"]);
    env.write("main.py", "m = 1\n");
    env.commit_all("main work");
    env.git(&["merge", "-q", "--no-commit", "--no-ff", "side"]);
    env.write("app.py", format!("a = 1\n{}", key_line(15)));
    env.git(&["add", "app.py"]);
    env.git(&["commit", "-q", "--no-edit"]);
    let merge = env.git(&["rev-parse", "HEAD"]).trim().to_string();
    let (report, code) = json_report(
        &env,
        env.path(),
        &["scan", "--range", &format!("{base}..HEAD")],
    );
    assert_eq!(code, 1);
    assert_eq!(places(&report), vec![("app.py".to_string(), 2)]);
    assert_eq!(report["findings"][0]["commit"]["id"], merge.as_str());
}

/// A blob deleted from the object database is named in a warning and skipped; the
/// scan completes and still reports the keys it could read.
#[test]
fn history_survives_a_missing_object() {
    let env = TestEnv::git_repo();
    env.write("keep.py", key_line(16));
    env.write("lost.txt", "this blob will be lost\n");
    env.commit_all("start");
    let lost = env.git(&["rev-parse", "HEAD:lost.txt"]).trim().to_string();
    let object = env
        .path()
        .join(".git/objects")
        .join(&lost[..2])
        .join(&lost[2..]);
    std::fs::remove_file(&object).expect("the blob is a loose object");
    for no_git_process in [false, true] {
        let mut cmd = env.keygate();
        if no_git_process {
            cmd.env("KEYGATE_NO_GIT_PROCESS", "1");
        }
        cmd.args(["scan", "--history"])
            .assert()
            .code(1)
            .stdout(predicate::str::contains("keep.py"))
            .stderr(predicate::str::contains(lost.as_str()))
            .stderr(predicate::str::contains("`lost.txt`"));
    }
}

/// A shallow clone and a bare clone are scanned like any repository; an empty one
/// is clean.
#[test]
fn shallow_bare_and_empty_repositories() {
    let env = TestEnv::git_repo();
    env.write("old.py", key_line(17));
    env.commit_all("old key");
    env.write("old.py", "clean\n");
    env.commit_all("cleaned");
    env.write("new.py", key_line(18));
    env.commit_all("new key");
    let source = format!("file://{}", env.path().display());

    let clones = TestEnv::new();
    git_in(
        clones.path(),
        &["clone", "-q", "--depth", "1", &source, "shallow"],
    );
    let (report, code) = json_report(
        &clones,
        &clones.path().join("shallow"),
        &["scan", "--history"],
    );
    assert_eq!(code, 1);
    assert_eq!(places(&report), vec![("new.py".to_string(), 1)]);

    git_in(
        clones.path(),
        &["clone", "-q", "--bare", &source, "bare.git"],
    );
    let (report, code) = json_report(
        &clones,
        &clones.path().join("bare.git"),
        &["scan", "--history"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        places(&report),
        vec![("new.py".to_string(), 1), ("old.py".to_string(), 1)]
    );

    let empty = TestEnv::git_repo();
    empty.keygate().args(["scan", "--history"]).assert().code(0);
    empty.keygate().args(["scan", "--staged"]).assert().code(0);
}

/// In a partial clone nothing is fetched: the blobs the clone lacks are named as
/// missing, and `--staged` reads only local objects.
#[test]
fn partial_clones_read_only_what_is_local() {
    let env = TestEnv::git_repo();
    env.git(&["config", "uploadpack.allowFilter", "true"]);
    env.write("old.py", key_line(19));
    env.commit_all("old key");
    env.write("old.py", "clean\n");
    env.commit_all("cleaned");
    let source = format!("file://{}", env.path().display());
    let clones = TestEnv::new();
    git_in(
        clones.path(),
        &["clone", "-q", "--filter=blob:none", &source, "partial"],
    );
    let partial = clones.path().join("partial");
    let before = git_in(&partial, &["count-objects", "-v"]);
    clones
        .keygate()
        .current_dir(&partial)
        .args(["scan", "--history"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("missing"))
        .stderr(predicate::str::contains("`old.py`"));
    std::fs::write(partial.join("new.py"), key_line(20)).expect("a file");
    git_in(&partial, &["add", "new.py"]);
    clones
        .keygate()
        .current_dir(&partial)
        .args(["scan", "--staged"])
        .assert()
        .code(1);
    git_in(&partial, &["reset", "-q", "new.py"]);
    let after = git_in(&partial, &["count-objects", "-v"]);
    let packs = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("packs:"))
            .map(str::to_string)
    };
    assert_eq!(packs(&before), packs(&after), "nothing was fetched");
}

/// At the pre-push stage the `pre-commit` framework names the pushed commits in
/// `PRE_COMMIT_FROM_REF` and `PRE_COMMIT_TO_REF`; `--staged` then scans that range,
/// with nothing staged at all.
#[test]
fn pre_commit_push_refs_turn_staged_into_a_range() {
    let env = TestEnv::git_repo();
    env.write("README.md", "hello\n");
    let base = env.commit_all("start");
    env.write("app.py", key_line(21));
    let leak = env.commit_all("leak");
    env.keygate().args(["scan", "--staged"]).assert().code(0);
    let out = env
        .keygate()
        .env("PRE_COMMIT_FROM_REF", &base)
        .env("PRE_COMMIT_TO_REF", &leak)
        .args(["scan", "--staged", "--format", "json"])
        .output()
        .expect("keygate runs");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(places(&report), vec![("app.py".to_string(), 1)]);
    assert_eq!(report["findings"][0]["commit"]["id"], leak.as_str());
}
