//! Hostile and damaged repositories (issue 11): each gives a clear message or warning
//! and the exit status the README states (0 clean, 1 findings, 2 error), never a
//! panic.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::robust::{unsafe_free_euid, world_runnable_binary};
use crate::util::{git_in, keys, TestEnv};

fn key_line(seed: u64) -> String {
    format!("OPENAI_API_KEY={}\n", keys::openai_project(seed))
}

/// Runs keygate with `args` (both history readers: `git cat-file` processes and
/// libgit2 alone) and returns each run's output.
fn runs(env: &TestEnv, dir: &Path, args: &[&str]) -> Vec<Output> {
    [false, true]
        .into_iter()
        .map(|no_git_process| {
            let mut cmd = env.keygate();
            if no_git_process {
                cmd.env("KEYGATE_NO_GIT_PROCESS", "1");
            }
            cmd.current_dir(dir)
                .args(args)
                .timeout(Duration::from_secs(120))
                .output()
                .expect("keygate runs")
        })
        .collect()
}

/// Exit status, stdout and stderr; fails on a panic whatever the status.
fn parts(out: &Output) -> (i32, String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "keygate panicked: {stderr}"
    );
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {stderr}"));
    (code, stdout, stderr)
}

/// A repository with a key in `app.env` (history: one commit) and a clean file.
fn repo_with_a_key() -> TestEnv {
    let env = TestEnv::git_repo();
    env.write("app.env", key_line(1));
    env.write("README.md", "hello\n");
    env.commit_all("start");
    env
}

/// A pack whose object data was overwritten: the damage is reported (exit 2, the
/// README's status for an unreadable repository), never a panic or a silent pass.
#[test]
fn a_corrupt_pack_is_reported() {
    let env = repo_with_a_key();
    env.write("more.txt", "x".repeat(10_000));
    env.commit_all("more");
    env.git(&["gc", "-q"]);
    let pack_dir = env.path().join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let len = bytes.len();
    // Past the 12-byte header, every object's compressed data is garbled.
    for b in &mut bytes[12..len - 20] {
        *b ^= 0x5a;
    }
    std::fs::set_permissions(&pack, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&pack, &bytes).unwrap();
    for out in runs(&env, env.path(), &["scan", "--history"]) {
        let (code, stdout, stderr) = parts(&out);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(stderr.contains("keygate: error"), "{stderr}");
    }
}

/// A loose object cut in half is named as unreadable and skipped; the rest of the
/// history is still scanned and its key found (exit 1).
#[test]
fn a_truncated_loose_object_is_named_and_skipped() {
    let env = repo_with_a_key();
    env.write("lost.txt", "this blob will be cut in half\n".repeat(50));
    env.commit_all("second");
    let lost = env.git(&["rev-parse", "HEAD:lost.txt"]).trim().to_string();
    let object = env
        .path()
        .join(".git/objects")
        .join(&lost[..2])
        .join(&lost[2..]);
    let bytes = std::fs::read(&object).expect("a loose object");
    std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&object, &bytes[..bytes.len() / 2]).unwrap();
    for out in runs(&env, env.path(), &["scan", "--history"]) {
        let (code, stdout, stderr) = parts(&out);
        assert!(stdout.contains("app.env"), "{stdout}{stderr}");
        assert!(stderr.contains(&lost[..12]), "names the object: {stderr}");
        assert!(code == 1 || code == 2, "{code}: {stdout}{stderr}");
    }
}

/// Regression (issue 11, libgit2 issue #7342): a loose commit cut in half made
/// libgit2 loop forever in a history scan. Now a history scan (both readers), a range
/// and a staged scan each stop with an error that names the commit, exit 2, well
/// within the timeout that would otherwise kill them.
#[test]
fn a_truncated_loose_commit_is_an_error_not_a_hang() {
    let env = repo_with_a_key();
    env.write("second.txt", "second\n");
    env.commit_all("second");
    let head = env.git(&["rev-parse", "HEAD"]).trim().to_string();
    let object = env
        .path()
        .join(".git/objects")
        .join(&head[..2])
        .join(&head[2..]);
    let bytes = std::fs::read(&object).expect("a loose commit");
    std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&object, &bytes[..bytes.len() / 2]).unwrap();
    let mut outs = runs(&env, env.path(), &["scan", "--history"]);
    for args in [
        &["scan", "--range", "HEAD~1..HEAD"][..],
        &["scan", "--staged"][..],
    ] {
        outs.push(
            env.keygate()
                .args(args)
                .timeout(Duration::from_secs(60))
                .output()
                .expect("keygate runs"),
        );
    }
    for out in outs {
        let (code, stdout, stderr) = parts(&out);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(stderr.contains("keygate: error"), "{stderr}");
        assert!(stderr.contains(&head), "names the commit: {stderr}");
        assert!(
            stderr.contains("is damaged"),
            "says what is wrong: {stderr}"
        );
    }
}

/// A branch that names a commit the repository does not hold is warned about; the
/// other refs are scanned and their key found (exit 1).
#[test]
fn a_ref_to_a_missing_commit_is_warned_about() {
    let env = repo_with_a_key();
    let ghost = "1234567890abcdef1234567890abcdef12345678";
    std::fs::write(
        env.path().join(".git/refs/heads/ghost"),
        format!("{ghost}\n"),
    )
    .unwrap();
    for out in runs(&env, env.path(), &["scan", "--history"]) {
        let (code, stdout, stderr) = parts(&out);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(stdout.contains("app.env"), "{stdout}");
        assert!(stderr.contains("warning"), "{stderr}");
        assert!(
            stderr.contains("ghost") || stderr.contains(&ghost[..12]),
            "{stderr}"
        );
    }
}

/// Five thousand branches and tags over one history: the key is reported once, and
/// the scan ends in time.
#[test]
fn thousands_of_refs_are_scanned_once() {
    let env = repo_with_a_key();
    let head = env.git(&["rev-parse", "HEAD"]).trim().to_string();
    let mut packed = String::from("# pack-refs with: peeled fully-peeled sorted \n");
    let mut names: Vec<String> = (0..2500)
        .flat_map(|i| [format!("refs/heads/b{i:05}"), format!("refs/tags/t{i:05}")])
        .collect();
    names.sort();
    for name in names {
        packed.push_str(&format!("{head} {name}\n"));
    }
    std::fs::write(env.path().join(".git/packed-refs"), packed).unwrap();
    assert!(env.git(&["for-each-ref"]).lines().count() > 5000);
    for out in runs(&env, env.path(), &["scan", "--history", "--format", "json"]) {
        let (code, stdout, stderr) = parts(&out);
        assert_eq!(code, 1, "{stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{stdout}");
    }
}

/// A shallow clone: history scans what the clone holds, `--staged` works, and a range
/// that reaches past the shallow boundary is an error that says what is missing.
#[test]
fn a_shallow_clone_is_scanned_as_far_as_it_goes() {
    let env = repo_with_a_key();
    let first = env.git(&["rev-parse", "HEAD"]).trim().to_string();
    env.write("new.env", key_line(2));
    env.commit_all("second key");
    let clones = TestEnv::new();
    let source = format!("file://{}", env.path().display());
    git_in(
        clones.path(),
        &["clone", "-q", "--depth", "1", &source, "shallow"],
    );
    let shallow = clones.path().join("shallow");
    for out in runs(&clones, &shallow, &["scan", "--history"]) {
        let (code, stdout, stderr) = parts(&out);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(
            stdout.contains("new.env") && stdout.contains("app.env"),
            "{stdout}"
        );
    }
    std::fs::write(shallow.join("staged.env"), key_line(3)).unwrap();
    git_in(&shallow, &["add", "staged.env"]);
    let out = clones
        .keygate()
        .current_dir(&shallow)
        .args(["scan", "--staged"])
        .output()
        .unwrap();
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("staged.env"), "{stdout}");
    let out = clones
        .keygate()
        .current_dir(&shallow)
        .args(["scan", "--range", &format!("{first}..HEAD")])
        .output()
        .unwrap();
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains(&first[..7]), "{stderr}");
}

/// A submodule whose commit and URL exist nowhere: it is not entered, and history,
/// staged and folder scans still report the parent's key (exit 1) without an error.
#[test]
fn a_submodule_that_points_nowhere_is_skipped() {
    let env = repo_with_a_key();
    env.write(
        ".gitmodules",
        "[submodule \"gone\"]\n\tpath = gone\n\turl = /nowhere/at/all\n",
    );
    env.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,1234567890abcdef1234567890abcdef12345678,gone",
    ]);
    env.git(&["add", ".gitmodules"]);
    env.git(&["commit", "-q", "-m", "a submodule that points nowhere"]);
    env.write("staged.env", key_line(4));
    env.git(&["add", "staged.env"]);
    for (args, found) in [
        (&["scan", "--history"][..], "app.env"),
        (&["scan", "--staged"][..], "staged.env"),
        (&["scan"][..], "app.env"),
    ] {
        for out in runs(&env, env.path(), args) {
            let (code, stdout, stderr) = parts(&out);
            assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
            assert!(stdout.contains(found), "{args:?}: {stdout}");
            assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        }
    }
}

/// A folder whose `.git` file points nowhere (a worktree whose repository was moved):
/// a folder scan still scans its files; a git scan is an error (exit 2) that names
/// the problem.
#[test]
fn a_worktree_git_file_that_points_nowhere() {
    let env = TestEnv::new();
    env.write(".git", "gitdir: /nowhere/repo/.git/worktrees/gone\n");
    env.write("app.env", key_line(5));
    let out = env.keygate().args(["scan"]).output().unwrap();
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("app.env"), "{stdout}");
    for args in [&["scan", "--staged"][..], &["scan", "--history"][..]] {
        let out = env.keygate().args(args).output().unwrap();
        let (code, stdout, stderr) = parts(&out);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains("keygate: error"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/nowhere") || stderr.contains("repository"),
            "{args:?}: {stderr}"
        );
    }
}

/// A repository owned by another user is refused as git refuses it (exit 2), with a
/// message that names `safe.directory`; marked safe, it is scanned.
#[test]
fn a_repository_owned_by_another_user_needs_safe_directory() {
    let env = repo_with_a_key();
    let root = env.path();
    let bin = world_runnable_binary(root);
    for dir in [root.to_path_buf(), root.join(".git")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let home = TestEnv::new();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |safe: bool| -> Option<Output> {
        let mut cmd = if unsafe_free_euid() == 0 {
            if !crate::util::have_tool("setpriv", "it runs keygate as another user (`nobody`)") {
                return None;
            }
            let mut cmd = std::process::Command::new("setpriv");
            cmd.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(&bin);
            cmd
        } else {
            // Not root: the repository is ours; nobody else can be made its owner.
            crate::util::missing_tool("root (to run keygate as `nobody` with `setpriv`)");
            return None;
        };
        let config = if safe {
            "[safe]\n\tdirectory = *\n"
        } else {
            ""
        };
        std::fs::write(home.path().join(".gitconfig"), config).unwrap();
        Some(
            cmd.args(["scan", "--history"])
                .current_dir(root)
                .env("HOME", home.path())
                .env("NO_COLOR", "1")
                .env("KEYGATE_NO_GIT_PROCESS", "1")
                .env_remove("XDG_CONFIG_HOME")
                .output()
                .unwrap(),
        )
    };
    let Some(out) = run(false) else {
        return;
    };
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("safe.directory"), "{stderr}");
    let Some(out) = run(true) else {
        return;
    };
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("app.env"), "{stdout}");
}

/// An index whose cache-tree nests a million levels (a few megabytes) would overflow
/// the stack of either index reader, which both recurse a level a frame. `--staged`
/// refuses it with exit 2, naming the index and how to rebuild it; the history scan,
/// which reads no index, still finds the committed key.
#[test]
fn an_index_with_a_bottomless_cache_tree_is_refused() {
    let env = repo_with_a_key();
    env.write("new.txt", "plain\n");
    env.git(&["add", "new.txt"]);
    let mut tree = Vec::new();
    let levels = 1_000_000;
    for i in 0..levels {
        if i > 0 {
            tree.push(b'a');
        }
        tree.push(0);
        tree.extend_from_slice(if i + 1 < levels { b"-1 1\n" } else { b"-1 0\n" });
    }
    let mut index = b"DIRC".to_vec();
    index.extend(2u32.to_be_bytes());
    index.extend(0u32.to_be_bytes());
    index.extend(b"TREE");
    index.extend((tree.len() as u32).to_be_bytes());
    index.extend(&tree);
    index.extend([0u8; 20]);
    env.write(".git/index", &index);

    let out = env
        .keygate()
        .args(["scan", "--staged"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("keygate runs");
    let (code, _, stderr) = parts(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(".git/index") && stderr.contains("1000000 levels"),
        "{stderr}"
    );

    let out = env
        .keygate()
        .args(["scan", "--history"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("keygate runs");
    let (code, _, stderr) = parts(&out);
    assert_eq!(code, 1, "{stderr}");
}
