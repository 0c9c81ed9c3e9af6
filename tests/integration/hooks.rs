//! Git hooks through the real binary and real git: `keygate install` writes hooks that
//! block `git commit` and `git push`, honours `core.hooksPath` and keeps foreign
//! hooks; and the `.pre-commit-hooks.yaml` manifest works with the real `pre-commit`
//! framework, installed from PyPI into `target/test-tools/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use predicates::prelude::*;

use crate::util::{git_in, keys, TestEnv};

/// Runs git in `dir` and returns its output, failing or not.
fn git_try(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn key_line(seed: u64) -> String {
    format!("OPENAI_API_KEY = \"{}\"\n", keys::openai_project(seed))
}

/// The installed pre-commit hook blocks a commit that adds a key, saying where, what,
/// how to fix it and how to mark a false positive; a clean commit goes through.
#[test]
fn the_pre_commit_hook_blocks_git_commit() {
    let env = TestEnv::git_repo();
    env.keygate()
        .arg("install")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("pre-commit"));
    env.write("README.md", "hello\n");
    env.git(&["add", "README.md"]);
    env.git(&["commit", "-q", "-m", "clean"]);

    env.write("src/app.py", format!("import os\n{}", key_line(30)));
    env.git(&["add", "src/app.py"]);
    let out = git_try(env.path(), &["commit", "-q", "-m", "leak"]);
    assert!(
        !out.status.success(),
        "the commit went through: {}",
        text(&out)
    );
    let said = text(&out);
    for expected in [
        "src/app.py",
        "2:",
        "openai.project-key",
        "environment variable",
        "https://platform.openai.com/api-keys",
        "keygate:allow",
    ] {
        assert!(said.contains(expected), "`{expected}` not in: {said}");
    }
    assert!(
        !said.contains(&keys::openai_project(30)),
        "the key is shown"
    );
    assert_eq!(env.git(&["rev-list", "--count", "HEAD"]).trim(), "1");

    // `git commit -a` stages through a temporary index: the hook still sees it.
    env.git(&["reset", "-q"]);
    env.write("README.md", format!("hello\n{}", key_line(31)));
    let out = git_try(env.path(), &["commit", "-q", "-a", "-m", "leak via -a"]);
    assert!(
        !out.status.success(),
        "commit -a went through: {}",
        text(&out)
    );
}

/// The pre-push hook scans exactly the pushed commits: a key committed past the
/// pre-commit hook is blocked when pushed to a new branch and to an existing one; a
/// clean push and a branch deletion go through.
#[test]
fn the_pre_push_hook_blocks_git_push() {
    let env = TestEnv::git_repo();
    let remote = TestEnv::new();
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().to_str().expect("a UTF-8 path").to_string();
    env.git(&["remote", "add", "origin", &url]);
    env.keygate()
        .args(["install", "--pre-push"])
        .assert()
        .code(0);

    env.write("README.md", "hello\n");
    env.commit_all("clean");
    let out = git_try(env.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "a clean push failed: {}", text(&out));
    env.git(&["push", "-q", "origin", "main:doomed"]);

    env.write("app.py", key_line(32));
    env.git(&["add", "app.py"]);
    env.git(&["commit", "-q", "--no-verify", "-m", "leak"]);
    env.write("more.py", "x = 1\n");
    env.commit_all("after the leak");

    let out = git_try(env.path(), &["push", "-q", "origin", "main"]);
    assert!(
        !out.status.success(),
        "the push went through: {}",
        text(&out)
    );
    assert!(text(&out).contains("app.py"), "{}", text(&out));
    let out = git_try(env.path(), &["push", "-q", "origin", "main:feature"]);
    assert!(
        !out.status.success(),
        "the new branch went through: {}",
        text(&out)
    );
    assert!(text(&out).contains("openai.project-key"));
    let remote_main = git_in(remote.path(), &["rev-parse", "main"]);
    assert_ne!(remote_main.trim(), env.git(&["rev-parse", "HEAD"]).trim());

    let out = git_try(env.path(), &["push", "-q", "origin", ":doomed"]);
    assert!(
        out.status.success(),
        "a deletion was blocked: {}",
        text(&out)
    );

    // Clean history on top of what the remote has passes.
    env.git(&["reset", "-q", "--hard", "origin/main"]);
    env.write("ok.py", "y = 2\n");
    env.commit_all("clean again");
    let out = git_try(env.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "a clean push failed: {}", text(&out));
}

/// Hooks go where `core.hooksPath` says; a foreign hook is not overwritten without
/// `--force`, and with it is kept and still run before keygate.
#[test]
fn install_honours_hooks_path_and_keeps_foreign_hooks() {
    let env = TestEnv::git_repo();
    env.git(&["config", "core.hooksPath", "githooks"]);
    let foreign = env.write(
        "githooks/pre-commit",
        "#!/bin/sh\necho ran > \"$(git rev-parse --show-toplevel)/foreign-ran\"\n",
    );
    make_executable(&foreign);
    env.keygate()
        .arg("install")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert!(std::fs::read_to_string(&foreign)
        .expect("the hook")
        .contains("foreign-ran"));

    env.keygate().args(["install", "--force"]).assert().code(0);
    assert!(env.path().join("githooks/pre-commit.pre-keygate").exists());
    assert!(!env.path().join(".git/hooks/pre-commit").exists());
    // Installing again over our own hook needs no --force.
    env.keygate().arg("install").assert().code(0);

    env.write("clean.txt", "fine\n");
    env.git(&["add", "clean.txt"]);
    env.git(&["commit", "-q", "-m", "clean"]);
    assert!(env.path().join("foreign-ran").exists(), "the kept hook ran");

    env.write("leak.py", key_line(33));
    env.git(&["add", "leak.py"]);
    let out = git_try(env.path(), &["commit", "-q", "-m", "leak"]);
    assert!(!out.status.success(), "the commit went through");
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// `pre-commit` from PyPI, in a venv under `target/test-tools/`, installed once; the
/// venv is built in a temporary folder and renamed into place, so that test processes
/// running at once never see half of one. `None` (the test is skipped, or fails under
/// `CI=true`) without Python or the network.
fn pre_commit() -> Option<&'static Path> {
    static TOOL: OnceLock<Option<PathBuf>> = OnceLock::new();
    TOOL.get_or_init(|| {
        let bin = assert_cmd::cargo::cargo_bin("keygate");
        let target = bin
            .parent()
            .and_then(Path::parent)
            .expect("the binary sits in target/<profile>/");
        let tools = target.join("test-tools");
        let venv = tools.join("pre-commit");
        // Run as `python -m pre_commit`: the venv's python finds its venv wherever
        // the folder now is, while console scripts keep the path they were built at.
        let exe = venv.join("bin/python");
        if venv.join("bin/pre-commit").exists() {
            return Some(exe);
        }
        if !crate::util::have_tool("python3", "it installs `pre-commit` from PyPI in a venv") {
            return None;
        }
        std::fs::create_dir_all(&tools).expect("target/test-tools");
        let building = tempfile::Builder::new()
            .prefix("pre-commit-")
            .tempdir_in(&tools)
            .expect("a temporary folder");
        let run = |cmd: &mut Command| {
            let out = cmd.output().expect("the command runs");
            out.status.success()
                || crate::util::missing_tool(&format!(
                    "`pre-commit` could not be installed: {cmd:?} failed (offline, or no \
                     `python3-venv`?): {}",
                    text(&out)
                ))
        };
        if !run(Command::new("python3")
            .args(["-m", "venv"])
            .arg(building.path()))
        {
            return None;
        }
        if !run(Command::new(building.path().join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "pre-commit==4.3.0",
        ])) {
            return None;
        }
        let built = building.keep();
        if std::fs::rename(&built, &venv).is_err() {
            // Another process finished first; theirs is as good as ours.
            let _ = std::fs::remove_dir_all(&built);
        }
        assert!(exe.exists(), "no `{}`", exe.display());
        Some(exe)
    })
    .as_deref()
}

/// The manifest passes `pre-commit validate-manifest`, and `pre-commit try-repo` runs
/// the `keygate-system` hook (the freshly built binary on PATH, to spare a release
/// `cargo install` per run): clean staged changes pass, a staged key fails the run.
#[test]
fn the_pre_commit_framework_runs_the_manifest() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let Some(tool) = pre_commit() else {
        return;
    };
    let home = TestEnv::new();
    let run = |dir: &Path, args: &[&str]| -> Output {
        let bin_dir = assert_cmd::cargo::cargo_bin("keygate")
            .parent()
            .expect("a folder")
            .to_path_buf();
        let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .expect("a PATH");
        Command::new(tool)
            .args(["-m", "pre_commit"])
            .args(args)
            .current_dir(dir)
            .env("PATH", path)
            .env("PRE_COMMIT_HOME", home.path())
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .expect("pre-commit runs")
    };
    let out = run(
        home.path(),
        &["validate-manifest", manifest.to_str().expect("UTF-8")],
    );
    assert!(out.status.success(), "{}", text(&out));

    let hooks = TestEnv::git_repo();
    std::fs::copy(&manifest, hooks.path().join(".pre-commit-hooks.yaml")).expect("copy");
    hooks.commit_all("hooks");
    let hooks_path = hooks.path().to_str().expect("UTF-8").to_string();

    let repo = TestEnv::git_repo();
    repo.write("README.md", "hello\n");
    repo.commit_all("start");
    repo.write("README.md", "hello again\n");
    repo.git(&["add", "README.md"]);
    let out = run(repo.path(), &["try-repo", &hooks_path, "keygate-system"]);
    assert!(
        out.status.success(),
        "a clean change failed: {}",
        text(&out)
    );

    repo.write("app.py", key_line(34));
    repo.git(&["add", "app.py"]);
    let out = run(repo.path(), &["try-repo", &hooks_path, "keygate-system"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("openai.project-key"), "{}", text(&out));
    assert!(text(&out).contains("app.py"), "{}", text(&out));
}

/// A foreign pre-push hook kept by `--force` still runs first and still reads git's
/// lines on its standard input; keygate's hook reads the same lines after it.
#[test]
fn a_kept_pre_push_hook_still_gets_its_input() {
    let env = TestEnv::git_repo();
    let remote = TestEnv::new();
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().to_str().expect("a UTF-8 path").to_string();
    env.git(&["remote", "add", "origin", &url]);
    let foreign = env.write(
        ".git/hooks/pre-push",
        "#!/bin/sh\ncat > \"$(git rev-parse --git-dir)/pushed-lines\"\n",
    );
    make_executable(&foreign);
    env.keygate()
        .args(["install", "--pre-push", "--force"])
        .assert()
        .code(0);
    env.write("README.md", "hello\n");
    let head = env.commit_all("clean");
    let out = git_try(env.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let lines =
        std::fs::read_to_string(env.path().join(".git/pushed-lines")).expect("the kept hook ran");
    assert!(
        lines.starts_with(&format!("refs/heads/main {head} refs/heads/main ")),
        "{lines}"
    );

    env.write("leak.py", key_line(35));
    env.git(&["add", "leak.py"]);
    env.git(&["commit", "-q", "--no-verify", "-m", "leak"]);
    let out = git_try(env.path(), &["push", "-q", "origin", "main"]);
    assert!(
        !out.status.success(),
        "the push went through: {}",
        text(&out)
    );
}

/// The installed commit-msg hook blocks a `git commit -m` whose message holds a key,
/// with the same words as a staged key (where, what, how to fix, how to mark a false
/// positive), and never shows the key whole; a clean message goes through. A key on
/// a `#` line of `git commit -m` is kept by git and blocked; one in a comment line of
/// an edited message is dropped by git, so it passes.
#[test]
fn the_commit_msg_hook_blocks_a_key_in_the_message() {
    let env = TestEnv::git_repo();
    env.keygate()
        .arg("install")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("commit-msg"));
    env.write("README.md", "hello\n");
    env.git(&["add", "README.md"]);
    let key = keys::openai_project(36);
    let out = git_try(
        env.path(),
        &[
            "commit",
            "-q",
            "-m",
            &format!("Try it\n\nOPENAI_API_KEY={key} make run"),
        ],
    );
    assert!(
        !out.status.success(),
        "the commit went through: {}",
        text(&out)
    );
    let said = text(&out);
    for expected in [
        "<commit message>",
        "3:16",
        "openai.project-key",
        "https://platform.openai.com/api-keys",
        "keygate: commit blocked",
        "keygate:allow",
        "--no-verify",
    ] {
        assert!(said.contains(expected), "`{expected}` not in: {said}");
    }
    assert!(!said.contains(&key), "the key is shown: {said}");
    assert!(
        git_try(env.path(), &["rev-parse", "-q", "--verify", "HEAD"])
            .stdout
            .is_empty()
    );

    let out = git_try(env.path(), &["commit", "-q", "-m", "A clean message"]);
    assert!(
        out.status.success(),
        "a clean commit failed: {}",
        text(&out)
    );

    // `git commit -m` keeps `#` lines (no editor: git tells the hook `GIT_EDITOR=:`),
    // so a key on one is blocked.
    env.write("other.txt", "other\n");
    env.git(&["add", "other.txt"]);
    let out = git_try(
        env.path(),
        &["commit", "-q", "-m", &format!("Subject\n\n# {key}")],
    );
    assert!(
        !out.status.success(),
        "a kept `#` line went through: {}",
        text(&out)
    );

    // An edited message: the key is in a comment line, which git drops.
    env.write("more.txt", "more\n");
    env.git(&["add", "more.txt"]);
    let editor = env.write(
        "editor.sh",
        format!("#!/bin/sh\nprintf 'Edited\\n# {key}\\n' > \"$1\"\n"),
    );
    make_executable(&editor);
    let out = Command::new("git")
        .args(["commit", "-q"])
        .current_dir(env.path())
        .env("GIT_EDITOR", &editor)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "a comment line blocked: {}",
        text(&out)
    );
    assert_eq!(env.git(&["log", "-1", "--format=%B"]).trim(), "Edited");
}

/// A foreign commit-msg hook (Gerrit's Change-Id hook, say) is not overwritten
/// without `--force`; with it, it is kept and still runs first, and may edit the
/// message that keygate then scans.
#[test]
fn install_keeps_a_foreign_commit_msg_hook() {
    let env = TestEnv::git_repo();
    let foreign = env.write(
        ".git/hooks/commit-msg",
        "#!/bin/sh\nprintf '\\nChange-Id: I123\\n' >> \"$1\"\n",
    );
    make_executable(&foreign);
    env.keygate()
        .arg("install")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("commit-msg").and(predicate::str::contains("--force")));
    assert!(
        !env.path().join(".git/hooks/pre-commit").exists(),
        "half installed"
    );
    env.keygate().args(["install", "--force"]).assert().code(0);
    assert!(env
        .path()
        .join(".git/hooks/commit-msg.pre-keygate")
        .exists());

    env.write("README.md", "hello\n");
    env.commit_all("clean");
    assert!(env
        .git(&["log", "-1", "--format=%B"])
        .contains("Change-Id: I123"));
    env.write("more.txt", "more\n");
    env.git(&["add", "more.txt"]);
    let out = git_try(
        env.path(),
        &[
            "commit",
            "-q",
            "-m",
            &format!("leak {}", keys::openai_project(37)),
        ],
    );
    assert!(
        !out.status.success(),
        "the commit went through: {}",
        text(&out)
    );
}

/// The manifest's `keygate-commit-msg-system` hook runs at pre-commit's
/// `commit-msg` stage, where pre-commit passes the message file: a message holding a
/// key fails, a clean one passes, and an installed pre-commit hook blocks a real
/// `git commit -m`.
#[test]
fn the_pre_commit_framework_runs_the_commit_msg_stage() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let Some(tool) = pre_commit() else {
        return;
    };
    let home = TestEnv::new();
    let bin_dir = assert_cmd::cargo::cargo_bin("keygate")
        .parent()
        .expect("a folder")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a PATH");
    let run = |dir: &Path, args: &[&str]| -> Output {
        Command::new(tool)
            .args(["-m", "pre_commit"])
            .args(args)
            .current_dir(dir)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", home.path())
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .expect("pre-commit runs")
    };
    let hooks = TestEnv::git_repo();
    std::fs::copy(&manifest, hooks.path().join(".pre-commit-hooks.yaml")).expect("copy");
    hooks.commit_all("hooks");
    let hooks_path = hooks.path().to_str().expect("UTF-8").to_string();
    let rev = hooks.git(&["rev-parse", "HEAD"]).trim().to_string();

    let repo = TestEnv::git_repo();
    repo.write("README.md", "hello\n");
    repo.commit_all("start");
    let key = keys::openai_project(38);
    let message = repo.write("msg.txt", format!("Subject\n\n{key}\n"));
    let try_stage = |file: &Path| {
        run(
            repo.path(),
            &[
                "try-repo",
                &hooks_path,
                "keygate-commit-msg-system",
                "--hook-stage",
                "commit-msg",
                "--commit-msg-filename",
                file.to_str().expect("UTF-8"),
            ],
        )
    };
    let out = try_stage(&message);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("<commit message>"), "{}", text(&out));
    assert!(!text(&out).contains(&key), "{}", text(&out));
    let clean = repo.write("clean.txt", "Subject\n\n# a comment\n");
    let out = try_stage(&clean);
    assert!(out.status.success(), "{}", text(&out));

    // Installed for the commit-msg stage, it blocks `git commit -m`.
    repo.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n- repo: {hooks_path}\n  rev: {rev}\n  hooks:\n  - id: keygate-commit-msg-system\n"
        ),
    );
    repo.commit_all("config");
    let out = run(repo.path(), &["install", "--hook-type", "commit-msg"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new("git")
        .args([
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("leak {key}"),
        ])
        .current_dir(repo.path())
        .env("PATH", &path)
        .env("PRE_COMMIT_HOME", home.path())
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(
        !out.status.success(),
        "the commit went through: {}",
        text(&out)
    );
    assert!(text(&out).contains("<commit message>"), "{}", text(&out));
    assert_eq!(repo.git(&["rev-list", "--count", "HEAD"]).trim(), "2");
}

/// The pre-push hook scans a pushed annotated tag's message, even when the commit it
/// tags was pushed before; a clean tag goes through.
#[test]
fn the_pre_push_hook_blocks_a_tag_whose_message_holds_a_key() {
    let env = TestEnv::git_repo();
    let remote = TestEnv::new();
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().to_str().expect("a UTF-8 path").to_string();
    env.git(&["remote", "add", "origin", &url]);
    env.keygate()
        .args(["install", "--pre-push"])
        .assert()
        .code(0);
    env.write("README.md", "hello\n");
    env.commit_all("clean");
    let out = git_try(env.path(), &["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "a clean push failed: {}", text(&out));

    let key = keys::openai_project(39);
    env.git(&[
        "tag",
        "-a",
        "v1",
        "-m",
        &format!("Release\n\ndemo key {key}"),
    ]);
    let out = git_try(env.path(), &["push", "-q", "origin", "v1"]);
    assert!(
        !out.status.success(),
        "the tag went through: {}",
        text(&out)
    );
    assert!(text(&out).contains("<tag message>"), "{}", text(&out));
    assert!(!text(&out).contains(&key), "{}", text(&out));

    env.git(&["tag", "-a", "v2", "-m", "Release 2"]);
    let out = git_try(env.path(), &["push", "-q", "origin", "v2"]);
    assert!(out.status.success(), "a clean tag failed: {}", text(&out));
}
