//! Snapshots of the three text reports (human, JSON, JSON Lines) of one small, fixed
//! tree, so that any change to what users and tools read shows up in review.
//!
//! Keys are built in code from fixed seeds, so fingerprints and redactions are
//! stable; the elapsed time and any temporary path are filtered out.

use crate::util::{keys, TestEnv};

/// The fixed tree: a project key in `.env`, a legacy key and a generic `sk-` key in
/// code, a key allowed inline, a base64-encoded key and a key cut into two literals.
fn tree() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        ".env",
        format!(
            "# local settings\nOPENAI_API_KEY={}\n",
            keys::openai_project(1)
        ),
    );
    env.write(
        "src/app.py",
        format!(
            "import openai\n\nclient = openai.OpenAI(api_key=\"{}\")\nFALLBACK = 'sk-{}'\n",
            keys::openai_legacy(2),
            keys::random(3, 40, keys::BASE62)
        ),
    );
    env.write(
        "docs/notes.md",
        format!(
            "Rotate keys often.\n\n    export OPENAI_API_KEY={}  # keygate:allow\n",
            keys::openai_project(4)
        ),
    );
    env.write("README.md", "Nothing to see here.\n");
    // Encoded and disguised: a Secret's base64 value and a key cut in two literals.
    env.write(
        "deploy/secret.yaml",
        format!(
            "kind: Secret\ndata:\n  OPENAI_API_KEY: {}\n",
            keys::base64(keys::openai_project(5).as_bytes())
        ),
    );
    let cut = keys::openai_project(6);
    env.write(
        "src/client.js",
        format!("const key = \"{}\" +\n  \"{}\";\n", &cut[..20], &cut[20..]),
    );
    env
}

/// Runs `keygate scan --format FORMAT` in the tree; returns exit code and stdout.
fn report(env: &TestEnv, format: &str) -> (i32, String) {
    let out = env
        .keygate()
        .args(["scan", "--format", format, "--threads", "1"])
        .output()
        .expect("keygate runs");
    (
        out.status.code().expect("keygate exits"),
        String::from_utf8(out.stdout).expect("reports are UTF-8"),
    )
}

/// Insta settings that hide what changes from run to run.
fn settings(env: &TestEnv) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(&regex_escape(&env.path().display().to_string()), "[TEMP]");
    settings.add_filter(r#""elapsed_ms": ?\d+"#, r#""elapsed_ms": [MS]"#);
    settings.add_filter(r"\b\d+ ms\b", "[MS] ms");
    settings
}

/// Escapes a literal for the regex filters insta applies.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The human report: findings grouped by file, redacted, with a summary line.
#[test]
fn human_report() {
    let env = tree();
    let (code, stdout) = report(&env, "human");
    assert_eq!(code, 1);
    settings(&env).bind(|| insta::assert_snapshot!("human_report", stdout));
}

/// The JSON document, version 1: sorted findings and the stats object.
#[test]
fn json_report() {
    let env = tree();
    let (code, stdout) = report(&env, "json");
    assert_eq!(code, 1);
    settings(&env).bind(|| insta::assert_snapshot!("json_report", stdout));
}

/// JSON Lines: one finding a line. Lines come as found, so they are sorted here;
/// with one thread the order is already the walk's.
#[test]
fn jsonl_report() {
    let env = tree();
    let (code, stdout) = report(&env, "jsonl");
    assert_eq!(code, 1);
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort_unstable();
    let sorted = lines.join("\n");
    settings(&env).bind(|| insta::assert_snapshot!("jsonl_report", sorted));
}

/// A history whose commit message and annotated tag message hold keys, one allowed
/// inline: how human and JSON output name a message, its commit and its tag.
/// Commits and tags are made at a fixed date by a fixed identity, so their ids are
/// stable.
#[test]
fn message_reports() {
    let env = TestEnv::git_repo();
    env.write("README.md", "# shop\n");
    env.commit_all("initial");
    env.commit_all(&format!(
        "Try the API\n\nworks with OPENAI_API_KEY={} make run\nold: {} keygate:allow\n",
        keys::openai_project(200),
        keys::openai_project(202)
    ));
    env.git(&[
        "tag",
        "-a",
        "v1.0",
        "-m",
        &format!("Release 1.0\n\ndemo key {}\n", keys::openai_project(204)),
    ]);
    for (name, format) in [("message_human", "human"), ("message_json", "json")] {
        let out = env
            .keygate()
            .args([
                "scan",
                "--history",
                "--include-suppressed",
                "--format",
                format,
            ])
            .output()
            .expect("keygate runs");
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8(out.stdout).expect("reports are UTF-8");
        settings(&env).bind(|| insta::assert_snapshot!(name, stdout));
    }
}
