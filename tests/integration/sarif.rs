//! SARIF output through the real binary: the whole document as a snapshot, URIs,
//! stable fingerprints, GitHub's limits, and validation by Microsoft's SARIF
//! multitool with GitHub's rules (installed from npm into `target/test-tools/`).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{keys, TestEnv};

/// Runs `keygate scan ARGS --format sarif -o out.sarif` in `env` and parses the file.
fn sarif(env: &TestEnv, args: &[&str]) -> Value {
    let out = env.path().join("out.sarif");
    env.keygate()
        .arg("scan")
        .args(args)
        .args(["--format", "sarif", "-o"])
        .arg(&out)
        .assert()
        .code(predicate::in_iter([0, 1]));
    let text = std::fs::read_to_string(&out).expect("keygate wrote the SARIF file");
    std::fs::remove_file(&out).expect("remove the SARIF file");
    serde_json::from_str(&text).expect("the SARIF file is JSON")
}

fn results(doc: &Value) -> &Vec<Value> {
    doc["runs"][0]["results"]
        .as_array()
        .expect("a run has results")
}

fn uri(result: &Value) -> &str {
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("a result has a URI")
}

fn line_hash(result: &Value) -> &str {
    result["partialFingerprints"]["primaryLocationLineHash"]
        .as_str()
        .expect("a result has a line hash")
}

/// A repository with a GitHub remote, a key in a folder whose name needs escaping,
/// a legacy key on a line with an inline allow, and a clean file.
fn sample_repo() -> TestEnv {
    let env = TestEnv::git_repo();
    env.git(&["remote", "add", "origin", "git@github.com:acme/shop.git"]);
    env.write(
        "config/prod settings/app.env",
        format!("# production\nOPENAI_API_KEY={}\n", keys::openai_project(7)),
    );
    env.write(
        "src/client.py",
        format!(
            "import openai\nopenai.api_key = \"{}\"  # keygate:allow test fixture\n",
            keys::openai_legacy(11)
        ),
    );
    env.write("README.md", "nothing here\n");
    env.commit_all("initial");
    env
}

/// The whole SARIF document of a folder scan inside a git repository, suppressed
/// findings included: driver and rules, results with root-relative URIs (no `./`),
/// regions, line hashes, suppressions, automation id and version control provenance.
#[test]
fn full_document_snapshot() {
    let env = sample_repo();
    let out = env.path().join("out.sarif");
    env.keygate()
        .args([
            "scan",
            ".",
            "--include-suppressed",
            "--format",
            "sarif",
            "-o",
        ])
        .arg(&out)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&out).expect("keygate wrote the SARIF file");
    let (root, version) = varying_parts(&env);
    insta::with_settings!({filters => vec![
        (root.as_str(), "[ROOT]"),
        (r#""[0-9a-f]{40}""#, r#""[COMMIT]""#),
        (version.as_str(), r#""$1": "[VERSION]""#),
    ]}, {
        insta::assert_snapshot!(text);
    });
}

/// Patterns for what varies between runs of a snapshot: the temporary root, and the
/// crate's own version (not the SARIF format's `2.1.0`).
fn varying_parts(env: &TestEnv) -> (String, String) {
    let root = env
        .path()
        .canonicalize()
        .expect("the temporary folder exists");
    let version = format!(
        r#""(semanticVersion|version)": "{}""#,
        regex::escape(env!("CARGO_PKG_VERSION"))
    );
    (regex::escape(&root.to_string_lossy()), version)
}

/// The SARIF of a history scan: a key added and removed again is reported on a line
/// that no longer exists, with its commit, author and date in `properties`, and an
/// automation id that names the kind of scan.
#[test]
fn history_document_snapshot() {
    let env = TestEnv::git_repo();
    env.git(&[
        "remote",
        "add",
        "origin",
        "https://github.com/acme/shop.git",
    ]);
    env.write("README.md", "# shop\n");
    env.commit_all("initial");
    env.write(
        "scripts/try.sh",
        format!(
            "#!/bin/sh\nexport OPENAI_API_KEY={}\n",
            keys::openai_project(9)
        ),
    );
    env.commit_all("try the API");
    std::fs::remove_file(env.path().join("scripts/try.sh")).expect("remove");
    env.commit_all("remove the experiment");
    let out = env.path().join("history.sarif");
    env.keygate()
        .args(["scan", "--history", "--format", "sarif", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&out).expect("keygate wrote the SARIF file");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(results(&doc)[0]["properties"]["author"], "Test User");
    let (root, version) = varying_parts(&env);
    insta::with_settings!({filters => vec![
        (root.as_str(), "[ROOT]"),
        (r#""[0-9a-f]{40}""#, r#""[COMMIT]""#),
        (r"\b[0-9a-f]{12}\b", "[SHORT]"),
        (version.as_str(), r#""$1": "[VERSION]""#),
    ]}, {
        insta::assert_snapshot!(text);
    });
}

/// The message, the properties and every other field hold no full secret, even with
/// `--show-secrets`.
#[test]
fn no_secret_in_sarif_even_with_show_secrets() {
    let env = sample_repo();
    let doc = sarif(&env, &["--show-secrets", "--include-suppressed"]);
    let text = doc.to_string();
    assert_eq!(results(&doc).len(), 2);
    for key in [keys::openai_project(7), keys::openai_legacy(11)] {
        assert!(!text.contains(&key), "the SARIF file holds `{key}`");
    }
}

/// Without `--include-suppressed` an inline-allowed finding is not in the file; with
/// it, it is a result with an `inSource` suppression, so GitHub closes its alert.
#[test]
fn suppressed_findings_only_on_request() {
    let env = sample_repo();
    let plain = sarif(&env, &[]);
    assert_eq!(results(&plain).len(), 1);
    assert!(results(&plain)[0].get("suppressions").is_none());
    let all = sarif(&env, &["--include-suppressed"]);
    let suppressed: Vec<&Value> = results(&all)
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert_eq!(uri(suppressed[0]), "src/client.py");
}

/// However a folder is named (`.`, `./src`, an absolute path, from a subfolder with
/// `..`), URIs are relative to the work tree root; outside git, to the scanned folder.
#[test]
fn uris_are_relative_to_the_repository_root() {
    let env = sample_repo();
    let want = "config/prod%20settings/app.env";
    let absolute = env.path().join("config");
    for args in [
        vec![],
        vec!["."],
        vec!["./config"],
        vec![absolute.to_str().expect("a UTF-8 temporary path")],
    ] {
        let doc = sarif(&env, &args);
        assert_eq!(uri(&results(&doc)[0]), want, "scan {args:?}");
        let artifact = &results(&doc)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
    }
    let out = env.path().join("src/out.sarif");
    env.keygate()
        .current_dir(env.path().join("src"))
        .args(["scan", "../config", "--format", "sarif", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(&out).expect("SARIF written")).expect("JSON");
    assert_eq!(uri(&results(&doc)[0]), want);

    let plain = TestEnv::new();
    plain.write("deploy/.env", format!("KEY={}\n", keys::openai_project(3)));
    let doc = sarif(&plain, &["."]);
    assert_eq!(uri(&results(&doc)[0]), "deploy/.env");
    assert!(doc["runs"][0].get("versionControlProvenance").is_none());
}

/// `primaryLocationLineHash` follows rule, path and secret, not the line: moving the
/// key down keeps it, moving it to another file changes it, and two copies of one
/// key in one file get distinct occurrence numbers.
#[test]
fn line_hash_is_stable_across_edits() {
    let env = TestEnv::git_repo();
    let key = keys::openai_project(21);
    env.write("a.env", format!("KEY={key}\n"));
    let before = line_hash(&results(&sarif(&env, &[]))[0]).to_string();
    env.write("a.env", format!("# moved\n\nexport   KEY=\"{key}\"\n"));
    let moved = sarif(&env, &[]);
    assert_eq!(
        results(&moved)[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert_eq!(line_hash(&results(&moved)[0]), before);
    std::fs::rename(env.path().join("a.env"), env.path().join("b.env")).expect("rename");
    assert_ne!(line_hash(&results(&sarif(&env, &[]))[0]), before);
    env.write("b.env", format!("A={key}\nB={key}\n"));
    let twice = sarif(&env, &[]);
    let hashes: Vec<&str> = results(&twice).iter().map(line_hash).collect();
    assert_eq!(hashes.len(), 2);
    assert!(
        hashes[0].ends_with(":1") && hashes[1].ends_with(":2"),
        "{hashes:?}"
    );
    assert_eq!(hashes[0].split(':').next(), hashes[1].split(':').next());
}

/// Above 25,000 results the file holds 25,000, says so in a notification and on
/// stderr, and the scan still fails on its findings.
#[test]
fn cut_at_github_result_limit() {
    let env = TestEnv::new();
    let mut text = String::new();
    for seed in 0..25_003u64 {
        text.push_str(&keys::openai_project(seed * 2 + 1_000_000));
        text.push('\n');
    }
    env.write("many.txt", text);
    let out = env.path().join("out.sarif");
    env.keygate()
        .args(["scan", "many.txt", "--format", "sarif", "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("holds 25000 of 25003 findings"));
    let doc: Value =
        serde_json::from_slice(&std::fs::read(&out).expect("SARIF written")).expect("JSON");
    assert_eq!(results(&doc).len(), 25_000);
    let note = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    assert!(note["message"]["text"]
        .as_str()
        .expect("a message")
        .contains("25,000 results"));
}

/// The SARIF multitool, installed from npm into `target/test-tools/` on first use;
/// `None` (the test is skipped, or fails under `CI=true`) without npm or the network.
/// A file lock keeps parallel tests (and test binaries) from installing it twice.
fn multitool() -> Option<PathBuf> {
    const VERSION: &str = "5.7.0";
    let tools = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("test-tools")
        .join("sarif-multitool");
    std::fs::create_dir_all(&tools).expect("create target/test-tools");
    let lock = File::create(tools.join(".lock")).expect("create the install lock");
    // SAFETY: flock on a file descriptor we own; it is released when `lock` drops.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "lock {}", tools.display());
    let package = tools.join("node_modules/@microsoft/sarif-multitool-linux");
    let exe = package.join("Sarif.Multitool");
    if !exe.is_file() {
        if !crate::util::have_tool(
            "npm",
            "it installs the SARIF multitool that validates SARIF",
        ) {
            return None;
        }
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&tools)
            .arg(format!("@microsoft/sarif-multitool-linux@{VERSION}"))
            .status()
            .expect("npm runs (Node.js is needed for the SARIF validation test)");
        if !status.success() {
            crate::util::missing_tool(&format!(
                "`npm install @microsoft/sarif-multitool-linux@{VERSION}` failed (offline?)"
            ));
            return None;
        }
    }
    // npm may skip the package's own `postinstall: chmod u+x`.
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(&exe)
        .expect("the multitool executable is in its package folder")
        .permissions();
    perms.set_mode(perms.mode() | 0o700);
    std::fs::set_permissions(&exe, perms).expect("make the multitool executable");
    drop(lock);
    Some(exe)
}

/// Runs `validate --rule-kind "Gh;Sarif" --level "Error;Warning"` on `file` and
/// returns the problems it reports as `RULE: arguments` lines. The multitool exits 0
/// even when it finds errors, so the answer is read from its own SARIF output. `None`
/// when the multitool cannot be had (see [`multitool`]).
pub fn validate(file: &Path) -> Option<Vec<String>> {
    let report = file.with_extension("validation.sarif");
    // The multitool refuses to overwrite its output.
    let _ = std::fs::remove_file(&report);
    let out = Command::new(multitool()?)
        .arg("validate")
        .arg(file)
        .args(["--rule-kind", "Gh;Sarif", "--level", "Error;Warning", "-o"])
        .arg(&report)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .expect("the multitool runs");
    assert!(
        out.status.success() && report.is_file(),
        "the multitool failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("validation report")).expect("JSON");
    let problems = results(&doc)
        .iter()
        .map(|r| {
            format!(
                "{} {}: {}",
                r["ruleId"].as_str().unwrap_or("?"),
                r["level"].as_str().unwrap_or("warning"),
                r["message"]["arguments"]
            )
        })
        .collect();
    Some(problems)
}

/// keygate's SARIF passes the multitool with GitHub's and SARIF's rules, errors and
/// warnings both: a plain scan, one with suppressed findings, a history scan, one with
/// keys in commit and tag messages, and one outside git.
/// The same run on a document whose relative URI was made absolute reports an error, so
/// the check bites.
#[test]
fn multitool_validates_with_github_rules() {
    let env = sample_repo();
    let cases: [(&str, &[&str]); 3] = [
        ("plain.sarif", &[]),
        ("suppressed.sarif", &["--include-suppressed", "."]),
        ("absolute.sarif", &["--include-suppressed"]),
    ];
    let dir = tempfile::tempdir().expect("a folder for SARIF files");
    for (name, args) in cases {
        let file = dir.path().join(name);
        let mut cmd = env.keygate();
        cmd.arg("scan").args(args);
        if name == "absolute.sarif" {
            cmd.arg(env.path());
        }
        cmd.args(["--format", "sarif", "-o"])
            .arg(&file)
            .assert()
            .code(1);
        let Some(problems) = validate(&file) else {
            return;
        };
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }

    let file = dir.path().join("history.sarif");
    env.keygate()
        .args([
            "scan",
            "--history",
            "--include-suppressed",
            "--format",
            "sarif",
            "-o",
        ])
        .arg(&file)
        .assert()
        .code(1);
    let Some(problems) = validate(&file) else {
        return;
    };
    assert!(problems.is_empty(), "history.sarif: {problems:#?}");

    // Keys in a commit message and an annotated tag's message, one allowed inline.
    env.commit_all(&format!(
        "Try it\n\nOPENAI_API_KEY={} make run\n",
        keys::openai_project(13)
    ));
    env.git(&[
        "tag",
        "-a",
        "v1",
        "-m",
        &format!("release {} keygate:allow", keys::openai_project(15)),
    ]);
    let file = dir.path().join("messages.sarif");
    env.keygate()
        .args([
            "scan",
            "--history",
            "--include-suppressed",
            "--format",
            "sarif",
            "-o",
        ])
        .arg(&file)
        .assert()
        .code(1);
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
    let mut uris: Vec<&str> = results(&doc).iter().map(uri).collect();
    uris.sort_unstable();
    assert!(
        uris.starts_with(&["COMMIT_MSG", "TAG_MSG"]),
        "messages are located by name: {uris:?}"
    );
    let Some(problems) = validate(&file) else {
        return;
    };
    assert!(problems.is_empty(), "messages.sarif: {problems:#?}");

    let plain = TestEnv::new();
    plain.write("k.env", format!("KEY={}\n", keys::openai_project(5)));
    let file = dir.path().join("no-git.sarif");
    plain
        .keygate()
        .args(["scan", "--format", "sarif", "-o"])
        .arg(&file)
        .assert()
        .code(1);
    let Some(problems) = validate(&file) else {
        return;
    };
    assert!(problems.is_empty(), "no-git.sarif: {problems:#?}");

    let mut broken: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plain.sarif")).expect("read"))
            .expect("JSON");
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"] = Value::from("/config/app.env");
    let file = dir.path().join("broken.sarif");
    std::fs::write(&file, broken.to_string()).expect("write");
    let Some(problems) = validate(&file) else {
        return;
    };
    assert!(
        problems.iter().any(|p| p.contains(" error:")),
        "the multitool found nothing in a broken file: {problems:#?}"
    );
}
