//! Inline allow comments (`keygate:allow`, `keygate:allow-next-line`, `gitleaks:allow`)
//! through the real binary.

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{keys, TestEnv};

/// Runs `keygate scan --format json` (here, unless `extra` names paths) and returns
/// the exit status and the document.
pub fn scan_json(env: &TestEnv, extra: &[&str]) -> (i32, Value) {
    let out = env
        .keygate()
        .args(["scan", "--format", "json"])
        .args(extra)
        .output()
        .expect("keygate runs");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("an exit status"), doc)
}

/// `(path, line)` of every finding of a JSON document.
pub fn places(doc: &Value) -> Vec<(String, u64)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

/// A `keygate:allow` comment on the line, in any comment syntax, suppresses the
/// finding there; the scan passes and counts it in `stats.suppressed`.
#[test]
fn allow_on_the_line_in_any_comment_syntax() {
    let env = TestEnv::new();
    env.write(
        "a.py",
        format!("KEY = \"{}\"  # keygate:allow\n", keys::openai_project(1)),
    );
    env.write(
        "b.js",
        format!(
            "const k = '{}'; // keygate:allow test key\n",
            keys::openai_project(3)
        ),
    );
    env.write(
        "c.html",
        format!(
            "<!-- keygate:allow --><x k=\"{}\">\n",
            keys::openai_project(5)
        ),
    );
    env.write(
        "d.sql",
        format!("select '{}'; -- keygate:allow\n", keys::openai_project(7)),
    );
    env.write(
        "e.c",
        format!(
            "char *k = \"{}\"; /* keygate:allow */\n",
            keys::openai_project(9)
        ),
    );
    let (code, doc) = scan_json(&env, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(places(&doc), []);
    assert_eq!(doc["stats"]["suppressed"], 5);
}

/// Suppressed findings are shown, marked `inline`, with `--include-suppressed`, and
/// still do not fail the scan.
#[test]
fn include_suppressed_shows_inline_allows_marked() {
    let env = TestEnv::new();
    env.write(
        "a.py",
        format!("KEY = \"{}\"  # keygate:allow\n", keys::openai_project(1)),
    );
    let (code, doc) = scan_json(&env, &["--include-suppressed"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["findings"][0]["suppression"], "inline");
}

/// `keygate:allow-next-line` allows the line after it and nothing else; the comment
/// line itself is not allowed by it.
#[test]
fn allow_next_line_allows_only_the_next_line() {
    let env = TestEnv::new();
    env.write(
        "config.yml",
        format!(
            "# keygate:allow-next-line\nkey: {}\nother: {}\n",
            keys::openai_project(11),
            keys::openai_project(13)
        ),
    );
    env.write(
        "same.py",
        format!(
            "k = '{}'  # keygate:allow-next-line\n",
            keys::openai_project(15)
        ),
    );
    let (code, doc) = scan_json(&env, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        places(&doc),
        [("config.yml".to_string(), 3), ("same.py".to_string(), 1)]
    );
    assert_eq!(doc["stats"]["suppressed"], 1);
}

/// `gitleaks:allow` and detect-secrets' pragmas work as keygate's own markers, so a
/// team can switch without editing its code.
#[test]
fn gitleaks_and_detect_secrets_markers_are_honoured() {
    let env = TestEnv::new();
    env.write(
        "main.go",
        format!(
            "var key = \"{}\" // gitleaks:allow\n",
            keys::openai_project(17)
        ),
    );
    env.write(
        "app.py",
        format!(
            "a = '{}'  # pragma: allowlist secret\n# pragma: allowlist nextline secret\nb = '{}'\n",
            keys::openai_project(18),
            keys::openai_project(19)
        ),
    );
    env.keygate()
        .args(["scan", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("3 suppressed"));
}

/// A marker that is not a whole word (`keygate:allowed`) allows nothing: a typo
/// fails safe, and the finding is reported.
#[test]
fn a_misspelt_marker_allows_nothing() {
    let env = TestEnv::new();
    env.write(
        "a.py",
        format!("k = '{}'  # keygate:allowed\n", keys::openai_project(19)),
    );
    let (code, doc) = scan_json(&env, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(places(&doc), [("a.py".to_string(), 1)]);
}
