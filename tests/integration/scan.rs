//! Folder, file and standard-input scans through the real binary.

use predicates::prelude::*;

use crate::util::{keys, TestEnv};

/// A key in a plain file is found, redacted, and the exit status is 1.
#[test]
fn a_key_in_a_file_is_found_and_redacted() {
    let env = TestEnv::new();
    let key = keys::openai_project(1);
    env.write("app.py", format!("client = OpenAI(api_key=\"{key}\")\n"));
    env.keygate()
        .args(["scan", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("./app.py"))
        .stdout(predicate::str::contains("openai.project-key"))
        .stdout(predicate::str::contains("1:26"))
        .stdout(predicate::str::contains(key.as_str()).not());
}

/// A clean tree exits 0; a missing path exits 2 and is named.
#[test]
fn clean_is_zero_and_missing_is_two() {
    let env = TestEnv::new();
    env.write("README.md", "nothing to see\n");
    env.keygate().args(["scan"]).assert().code(0);
    env.keygate()
        .args(["scan", "no-such-dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`no-such-dir`"));
}
