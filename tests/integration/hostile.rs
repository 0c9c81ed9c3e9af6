//! Hostile input (issue 11): names and text crafted to drive a terminal or a CI log,
//! symbolic links, writes that fail midway, partial scans that must not prune a
//! baseline, and memory held to the README's bounds, each through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command as StdCommand, Output};
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::robust::{unsafe_free_euid, world_runnable_binary};
use crate::util::{keys, TestEnv};

fn key_line(seed: u64) -> String {
    format!("OPENAI_API_KEY={}\n", keys::openai_project(seed))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What no scanned byte may do to a terminal or a CI log: no escape or other control
/// byte but newline, and no line that starts a workflow command.
fn assert_inert(what: &str, shown: &str) {
    for (i, c) in shown.char_indices() {
        let hostile = (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c);
        assert!(
            !hostile,
            "{what}: control character {c:?} at byte {i}:\n{shown}"
        );
    }
    for line in shown.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a line starts a workflow command: {line:?}\n{shown}"
        );
    }
}

/// A file named `a\n::stop-commands::zzz\n.py`, another named with terminal escapes
/// that erase lines, and a key on a line that holds escapes: the human report shows
/// each name quoted as git does, and nothing in it can act on a terminal or a log.
#[test]
fn hostile_names_and_lines_are_quoted_in_the_human_report() {
    let env = TestEnv::new();
    env.write("a\n::stop-commands::zzz\n.py", key_line(1));
    env.write("b\x1b[2K\x1b[1A.env", key_line(2));
    env.write(
        "line.txt",
        format!(
            "x=1 \x1b]0;owned\x07 {} \u{9b}2J \u{202e}gnp.exe\n",
            keys::openai_project(3)
        ),
    );
    let out = env
        .keygate()
        .args(["scan", "--no-color"])
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(r#""a\n::stop-commands::zzz\n.py""#),
        "quoted as git quotes it:\n{stdout}"
    );
    assert!(
        stdout.contains(r#""b\033[2K\033[1A.env""#),
        "escapes shown as C escapes:\n{stdout}"
    );
    // The line excerpt blanks C0 and C1 controls itself; what is left that could
    // reorder the line (a right-to-left override) is escaped.
    assert!(stdout.contains(r"\342\200\256gnp.exe"), "{stdout}");
    assert!(stdout.contains("3 secrets found"), "{stdout}");
    assert_inert("stdout", &stdout);
    assert_inert("stderr", &stderr);
}

/// Warnings and errors on stderr quote the names they give.
#[test]
fn hostile_names_are_quoted_in_warnings() {
    let env = TestEnv::new();
    env.write("big\n::error::forged\n.bin", vec![b'x'; 4096]);
    let out = env
        .keygate()
        .args(["scan", "--max-file-size", "100"])
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains(r#""big\n::error::forged\n.bin""#),
        "{stderr}"
    );
    assert_inert("stderr", &stderr);
}

/// Commit summaries and authors in a history report, and a custom rule's name, are
/// shown with their control characters escaped.
#[test]
fn hostile_commits_and_rule_text_are_quoted() {
    let env = TestEnv::git_repo();
    env.write(
        ".keygate.toml",
        "[[rules]]\n\
         id = \"acme.token\"\n\
         name = \"Acme\\u001b[2J token\"\n\
         description = \"x\"\n\
         keywords = [\"acme_\"]\n\
         regex = '''acme_[a-z0-9]{24}'''\n\
         severity = \"high\"\n\
         examples = [\"ACME=acme_q7x2k9m4p1z8w3r6t5y0u2v7\"]\n",
    );
    env.write(
        "app.env",
        format!(
            "{}ACME=acme_{}\n",
            key_line(4),
            // Letters and digits: the custom rule's own example in the config is
            // not a finding, so this key is the one that shows the rule's name.
            keys::random(5, 24, "abcdefghijklmnopqrstuvwxyz0123456789")
        ),
    );
    env.git(&["add", "-A"]);
    env.git(&[
        "-c",
        "user.name=Eve \x1b[31mRed",
        "commit",
        "-q",
        "-m",
        "leak \x1b[2K\x1b[1A::stop-commands::x",
    ]);
    let out = env
        .keygate()
        .args(["scan", "--history", "--no-color"])
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains(r#""Eve \033[31mRed""#), "{stdout}");
    assert!(
        stdout.contains(r#""leak \033[2K\033[1A::stop-commands::x""#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""Acme\033[2J token""#), "{stdout}");
    assert_inert("stdout", &stdout);
    assert_inert("stderr", &stderr);
}

/// Without `--follow`, links are neither read nor reported: a link that loops, a
/// link to a missing file and a link to a file holding a key leave a clean scan
/// clean (exit 0, nothing on stderr).
#[test]
fn links_not_followed_are_not_read_nor_reported() {
    let env = TestEnv::new();
    env.write("ok.txt", "fine\n");
    let outside = TestEnv::new();
    outside.write("secret.env", key_line(6));
    std::os::unix::fs::symlink("self", env.path().join("self")).expect("symlink");
    std::os::unix::fs::symlink("nowhere", env.path().join("dangling")).expect("symlink");
    std::os::unix::fs::symlink(
        outside.path().join("secret.env"),
        env.path().join("key.env"),
    )
    .expect("symlink");
    let out = env
        .keygate()
        .args(["scan", "--format", "json"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stderr, "", "nothing reported about links");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["stats"]["files"], 1, "ok.txt only: {doc}");

    // Followed, the link to the key is read.
    env.keygate()
        .args(["scan", "--follow"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("key.env"));
}

/// With `--follow`, a loop is a warning, not an error: a clean tree still exits 0,
/// and the loop is named.
#[test]
fn followed_loops_are_warnings() {
    let env = TestEnv::new();
    env.write("sub/ok.txt", "fine\n");
    std::os::unix::fs::symlink("..", env.path().join("sub/up")).expect("symlink");
    std::os::unix::fs::symlink("self", env.path().join("self")).expect("symlink");
    let out = env
        .keygate()
        .args(["scan", "--follow"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains("sub/up") && stderr.contains("loop"),
        "{stderr}"
    );
    assert!(stderr.contains("self`: symbolic link loop"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

/// `--output` onto a folder cannot replace it: exit 2, the message says nothing was
/// replaced, the folder and what it holds are untouched, and no temporary file is
/// left behind.
#[test]
fn a_report_that_cannot_be_written_leaves_the_target_alone() {
    let env = TestEnv::new();
    env.write("app.env", key_line(7));
    env.write("report.json/keep.txt", "mine\n");
    let out = env
        .keygate()
        .args(["scan", "--format", "json", "--output", "report.json"])
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("cannot write `report.json`"), "{stderr}");
    assert!(stderr.contains("left as it was"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(env.path().join("report.json/keep.txt")).unwrap(),
        "mine\n"
    );
    let names: Vec<String> = std::fs::read_dir(env.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("keygate-tmp")),
        "a temporary file was left: {names:?}"
    );
}

/// A command run as `nobody` when the tests run as root (root may write anywhere, so a
/// read-only folder would not stop it); `None` when `setpriv` is missing.
fn unprivileged(bin: &Path, home: &Path) -> Option<StdCommand> {
    let mut cmd = if unsafe_free_euid() == 0 {
        if !crate::util::have_tool(
            "setpriv",
            "root writes anywhere: it runs keygate as `nobody`",
        ) {
            return None;
        }
        let mut cmd = StdCommand::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(bin);
        cmd
    } else {
        StdCommand::new(bin)
    };
    // git refuses repositories another user owns; `nobody` may read these.
    std::fs::write(home.join(".gitconfig"), "[safe]\n\tdirectory = *\n").expect("gitconfig");
    cmd.env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("XDG_CONFIG_HOME");
    Some(cmd)
}

/// A folder `nobody` may read and enter, but not write.
fn read_only_dir(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).expect("chmod");
}

/// A baseline in a folder keygate may not write to: the rewrite fails with exit 2 and
/// says the file was left as it was, and the old baseline is whole.
#[test]
fn a_baseline_that_cannot_be_written_is_left_whole() {
    let env = TestEnv::new();
    let root = env.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = world_runnable_binary(root);
    env.write("tree/app.env", key_line(8));
    env.write("keep/b.json", "{\"version\": 1, \"entries\": []}\n");
    for dir in ["tree", "keep"] {
        std::fs::set_permissions(root.join(dir), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    std::fs::set_permissions(
        root.join("keep/b.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    std::fs::set_permissions(
        root.join("tree/app.env"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    read_only_dir(&root.join("keep"));
    let home = TestEnv::new();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let Some(mut cmd) = unprivileged(&bin, home.path()) else {
        return;
    };
    let out = cmd
        .args(["baseline", "tree", "--output", "keep/b.json"])
        .current_dir(root)
        .output()
        .expect("keygate runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("cannot write `keep/b.json`"), "{stderr}");
    assert!(stderr.contains("left as it was"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(root.join("keep/b.json")).unwrap(),
        "{\"version\": 1, \"entries\": []}\n"
    );
    assert_eq!(std::fs::read_dir(root.join("keep")).unwrap().count(), 1);
}

/// `install` into a hooks folder it may not write to fails (exit 2) and leaves the
/// hook that was there whole and no half-written file beside it.
#[test]
fn install_never_leaves_a_half_written_hook() {
    let env = TestEnv::git_repo();
    let root = env.path();
    let bin = world_runnable_binary(root);
    let hooks = root.join(".git/hooks");
    let old = "#!/bin/sh\n# keygate-hook: written by `keygate install`\nexit 0\n";
    std::fs::write(hooks.join("pre-commit"), old).expect("an old hook");
    std::fs::set_permissions(
        hooks.join("pre-commit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    // `nobody` must reach the repository to open it.
    for dir in [root.to_path_buf(), root.join(".git")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let before: Vec<_> = std::fs::read_dir(&hooks).unwrap().collect();
    read_only_dir(&hooks);
    let home = TestEnv::new();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let Some(mut cmd) = unprivileged(&bin, home.path()) else {
        return;
    };
    let out = cmd
        .arg("install")
        .current_dir(root)
        .output()
        .expect("keygate runs");
    std::fs::set_permissions(&hooks, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("pre-commit"), "{stderr}");
    assert!(stderr.contains("left as it was"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit")).unwrap(),
        old
    );
    assert_eq!(std::fs::read_dir(&hooks).unwrap().count(), before.len());
}

/// `--prune` with a scan that sees only part of what the baseline covers (staged
/// changes, standard input, a subfolder, one revision) is refused and writes nothing;
/// a scan of the whole repository prunes.
#[test]
fn partial_scans_never_prune_a_baseline() {
    let env = TestEnv::git_repo();
    env.write("a/one.env", key_line(9));
    env.write("b/two.env", key_line(10));
    env.commit_all("two keys");
    env.keygate()
        .args(["baseline", "--output", "b.json"])
        .assert()
        .code(0);
    let written = std::fs::read_to_string(env.path().join("b.json")).unwrap();
    assert_eq!(written.matches("fingerprint").count(), 2, "{written}");

    let partial: [&[&str]; 5] = [
        &["--staged"],
        &["-"],
        &["a"],
        &["a/one.env"],
        &["--history", "--rev", "HEAD"],
    ];
    for args in partial {
        let out = env
            .keygate()
            .arg("baseline")
            .args(args)
            .args(["--baseline", "b.json", "--prune"])
            .write_stdin("nothing\n")
            .output()
            .expect("keygate runs");
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains("Nothing was written"), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::read_to_string(env.path().join("b.json")).unwrap(),
            written,
            "{args:?} changed the baseline"
        );
    }

    // The whole tree, after one key is gone: the stale entry is dropped.
    std::fs::remove_file(env.path().join("b/two.env")).unwrap();
    env.keygate()
        .args(["baseline", "--baseline", "b.json", "--prune"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("1 stale dropped"));
    let pruned = std::fs::read_to_string(env.path().join("b.json")).unwrap();
    assert_eq!(pruned.matches("fingerprint").count(), 1, "{pruned}");
}

/// A scan that could not read a file cannot prune: what that file holds is unknown.
#[test]
fn a_scan_with_unread_files_never_prunes() {
    let env = TestEnv::new();
    env.write("one.env", key_line(11));
    env.write("big.env", format!("{}{}", key_line(12), "x".repeat(4096)));
    env.keygate()
        .args(["baseline", "--output", "b.json"])
        .assert()
        .code(0);
    let written = std::fs::read_to_string(env.path().join("b.json")).unwrap();
    env.keygate()
        .args([
            "baseline",
            "--max-file-size",
            "1000",
            "--baseline",
            "b.json",
            "--prune",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Nothing was written"));
    assert_eq!(
        std::fs::read_to_string(env.path().join("b.json")).unwrap(),
        written
    );
}

/// Runs the real binary under a data-segment limit of `mib` MiB (`prlimit --data`),
/// the measure of what keygate writes to (address space would count what allocators
/// merely reserve); `None` when `prlimit` is missing.
fn limited(mib: u64, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    if !crate::util::have_tool("prlimit", "it caps keygate's memory") {
        return None;
    }
    let mut cmd = StdCommand::new("prlimit");
    cmd.arg(format!("--data={}", mib << 20))
        .arg(assert_cmd::cargo::cargo_bin("keygate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Some(cmd.output().expect("prlimit runs keygate"))
}

/// The README's bound per file: a single line of 100 MB, a key in its middle, is
/// scanned within a 48 MiB data limit and the key found at its column.
#[test]
fn a_100_mb_line_stays_within_the_file_bound() {
    let env = TestEnv::new();
    let key = keys::openai_project(20);
    let half = 50 << 20;
    let mut bytes = vec![b'q'; half];
    bytes.push(b' ');
    bytes.extend_from_slice(key.as_bytes());
    bytes.push(b' ');
    bytes.resize(2 * half + 1, b'z');
    env.write("one.line", &bytes);
    drop(bytes);
    let Some(out) = limited(
        48,
        env.path(),
        &["scan", "--format", "json", "--threads", "1", "one.line"],
        &[],
    ) else {
        return;
    };
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(doc["findings"][0]["line"], 1);
    assert_eq!(doc["findings"][0]["column"], half as u64 + 2);
}

/// A sparse file of 3 GiB (holes read as zeros) with a key near its end is scanned
/// whole within the same 48 MiB limit.
#[test]
fn a_sparse_multi_gib_file_stays_within_the_file_bound() {
    let env = TestEnv::new();
    let path = env.path().join("sparse.img");
    let size: u64 = 3 << 30;
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(size).unwrap();
    use std::os::unix::fs::FileExt;
    let at = size - (1 << 20);
    file.write_all_at(
        format!("\nKEY={}\n", keys::openai_project(21)).as_bytes(),
        at,
    )
    .unwrap();
    drop(file);
    let Some(out) = limited(
        48,
        env.path(),
        &["scan", "--format", "json", "--threads", "1", "sparse.img"],
        &[],
    ) else {
        return;
    };
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{stdout}");
    assert_eq!(doc["stats"]["bytes"], size);
}

/// The README's bound per blob: a 100 MB blob is held whole while scanned, so a
/// history scan finds its key within a limit of the blob plus 48 MiB, and with
/// `--max-file-size` it passes over the blob within 48 MiB, counting it as skipped.
#[test]
fn a_huge_blob_stays_within_the_blob_bound() {
    let env = TestEnv::git_repo();
    let mut bytes = b"filler line\n".repeat((100 << 20) / 12);
    bytes.extend_from_slice(key_line(22).as_bytes());
    env.write("big.txt", &bytes);
    drop(bytes);
    env.write("small.env", key_line(23));
    env.commit_all("a huge blob");
    for reader in [&[][..], &[("KEYGATE_NO_GIT_PROCESS", "1")][..]] {
        let Some(out) = limited(
            48 + 100,
            env.path(),
            &["scan", "--history", "--format", "json", "--threads", "1"],
            reader,
        ) else {
            return;
        };
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{reader:?}: {stderr}");
        let doc: Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(doc["findings"].as_array().unwrap().len(), 2, "{stdout}");

        let out = limited(
            48,
            env.path(),
            &[
                "scan",
                "--history",
                "--format",
                "json",
                "--threads",
                "1",
                "--max-file-size",
                "1000000",
            ],
            reader,
        )
        .expect("prlimit was there a moment ago");
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{reader:?}: {stderr}");
        let doc: Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{stdout}");
        assert_eq!(doc["findings"][0]["path"], "small.env");
        assert_eq!(doc["stats"]["skipped"], 1, "{stdout}");
    }
}
