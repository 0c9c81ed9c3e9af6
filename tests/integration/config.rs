//! `.keygate.toml` through the real binary: allowlists, disabled rules, custom rules,
//! strict errors with their line, `keygate config check`, `keygate rules check
//! --config`, and the repository passing its own scanner.

use predicates::prelude::*;

use crate::suppress::{places, scan_json};
use crate::util::{keys, TestEnv};

/// A synthetic Acme token for the custom rule below.
fn acme(seed: u64) -> String {
    format!("acme_{}", keys::random(seed, 32, keys::BASE62))
}

/// A config with one custom rule whose example is `example`.
fn custom_rule(example: &str) -> String {
    format!(
        r#"# Acme's own tokens.
[[rules]]
id = "acme.token"
name = "Acme API token"
description = "A token of the Acme API."
keywords = ["acme_"]
regex = '''acme_[A-Za-z0-9]{{32}}'''
severity = "high"
examples = ["ACME_TOKEN={example}"]
negative_examples = ["acme_short"]
"#
    )
}

/// `[allow] paths` globs are relative to the config's folder (the repository root),
/// whichever folder is scanned and from wherever; a folder name covers what is
/// beneath it.
#[test]
fn allowed_paths_are_relative_to_the_config() {
    let env = TestEnv::git_repo();
    env.write(
        ".keygate.toml",
        "[allow]\npaths = [\"tests/fixtures/\", \"*.example\"]\n",
    );
    env.write(
        "tests/fixtures/deep/keys.env",
        format!("K={}\n", keys::openai_project(51)),
    );
    env.write(
        "conf/app.env.example",
        format!("K={}\n", keys::openai_project(53)),
    );
    env.write(
        "src/fixtures/real.env",
        format!("K={}\n", keys::openai_project(55)),
    );
    let (code, doc) = scan_json(&env, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(places(&doc), [("src/fixtures/real.env".to_string(), 1)]);

    let out = env
        .keygate()
        .current_dir(env.path().join("tests"))
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    env.keygate().args(["scan", "tests"]).assert().code(0);
}

/// `[allow] regexes` allow the secrets they match, `[allow] secrets` the literal
/// ones; both count as suppressed.
#[test]
fn allowed_regexes_and_secrets() {
    let env = TestEnv::new();
    let listed = keys::openai_project(61);
    let pattern_key = format!(
        "sk-proj-TESTONLY{}T3BlbkFJ{}",
        keys::random(62, 12, keys::BASE62),
        keys::random(63, 20, keys::BASE62)
    );
    let other = keys::openai_project(65);
    env.write(
        ".keygate.toml",
        format!("[allow]\nregexes = ['^sk-proj-TESTONLY']\nsecrets = [\"{listed}\"]\n"),
    );
    env.write(
        "a.py",
        format!("a = '{listed}'\nb = '{pattern_key}'\nc = '{other}'\n"),
    );
    let (code, doc) = scan_json(&env, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(places(&doc), [("a.py".to_string(), 3)]);
    // The listed secret is also in `.keygate.toml` itself, where it is allowed too.
    assert_eq!(doc["stats"]["suppressed"], 3);
}

/// `disable` turns a rule off. A rule that yields to a disabled one no longer yields
/// (the key body rule reports the project key's body), so turning a key off takes
/// every rule that reads it.
#[test]
fn disabled_rules_find_nothing() {
    let env = TestEnv::new();
    env.write("a.py", format!("k = '{}'\n", keys::openai_project(71)));
    env.keygate().args(["scan"]).assert().code(1);
    env.write(".keygate.toml", "disable = [\"openai.project-key\"]\n");
    env.keygate()
        .args(["scan"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("openai.project-key").not());
    env.write(
        ".keygate.toml",
        "disable = [\"openai.project-key\", \"openai.legacy-key\", \"openai.key-body\"]\n",
    );
    env.keygate().args(["scan"]).assert().code(0);
}

/// A custom rule finds its secrets like a built-in one, and `rules check --config`
/// proves it with the built-in ones.
#[test]
fn custom_rules_find_secrets_and_are_checked() {
    let env = TestEnv::new();
    env.write("keygate.toml", custom_rule(&acme(1)));
    env.write("app.env", format!("ACME={}\n", acme(2)));
    env.keygate()
        .args(["scan", "app.env", "--config", "keygate.toml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("acme.token"))
        .stdout(predicate::str::contains("Acme API token"));
    let builtin = env.keygate().args(["rules", "list"]).output().unwrap();
    let builtin = String::from_utf8_lossy(&builtin.stdout).lines().count() - 1;
    env.keygate()
        .args(["rules", "check", "--config", "keygate.toml"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "{} rules",
            builtin + 1
        )))
        .stdout(predicate::str::contains("all pass"));
}

/// A custom rule that misses its own example stops a scan with exit 2 on the
/// example's line, and fails `rules check --config` (exit 1) naming the rule.
#[test]
fn a_custom_rule_that_misses_its_example_is_a_bad_config() {
    let env = TestEnv::new();
    env.write(".keygate.toml", custom_rule("acme_tooshort"));
    env.write("a.txt", "nothing\n");
    env.keygate()
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "config `.keygate.toml`, line 9, column 13:",
        ))
        .stderr(predicate::str::contains(
            "`acme.token` does not find its example",
        ));
    env.keygate()
        .args(["rules", "check", "--config", ".keygate.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`acme.token` does not find its example",
        ));
}

/// A custom rule without examples is refused, on the line of its id: an unproven
/// rule that silently finds nothing would leave users thinking they are covered.
#[test]
fn a_custom_rule_without_examples_is_refused() {
    let env = TestEnv::new();
    let text =
        custom_rule(&acme(3)).replace(&format!("examples = [\"ACME_TOKEN={}\"]\n", acme(3)), "");
    env.write(".keygate.toml", text);
    env.keygate()
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3, column 6"))
        .stderr(predicate::str::contains("has no `examples`"));
}

/// Regression (issue 11): a custom rule may not reach further around its keyword than
/// the context keygate keeps at a chunk cut (`lookbehind` + longest keyword +
/// `max_len` at most 32768 bytes, as the README states): past it, the config is an
/// error on the figure that was set, exit 2; at the bound it is accepted.
#[test]
fn a_custom_rule_that_reaches_too_far_is_refused() {
    let env = TestEnv::new();
    env.write("a.txt", format!("ACME_TOKEN={}\n", acme(5)));
    let base = custom_rule(&acme(4));
    env.write(".keygate.toml", format!("{base}max_len = 100000\n"));
    env.keygate()
        .args(["scan"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "config `.keygate.toml`, line 11, column 11: custom rule `acme.token`: \
             `lookbehind` (256) + longest keyword (5) + `max_len` (100000) reach 100261 bytes \
             around a keyword; at most 32768 are allowed",
        ));
    env.write(".keygate.toml", format!("{base}lookbehind = 40000\n"));
    env.keygate()
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 11, column 14: custom rule `acme.token`: `lookbehind` (40000)",
        ));
    // 256 + 5 + 32507 = 32768: at the bound, the rule works.
    env.write(".keygate.toml", format!("{base}max_len = 32507\n"));
    env.keygate().args(["scan"]).assert().code(1);
}

/// A bad config stops the run with exit 2 and names the file, the line and column,
/// and what is wrong; unknown keys are errors, and `keygate config check` says the
/// same.
#[test]
fn a_bad_config_names_file_line_and_column() {
    let env = TestEnv::new();
    env.write("a.py", format!("k = '{}'\n", keys::openai_project(81)));
    env.write(
        ".keygate.toml",
        "# ours\n[allow]\npaths = [\"vendor/\"]\nregex = ['x']\n",
    );
    let expected =
        "line 4, column 1: unknown field `regex`, expected one of `paths`, `regexes`, `secrets`";
    env.keygate()
        .args(["scan"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(format!(
            "config `.keygate.toml`, {expected}"
        )));
    env.keygate()
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected));
    env.write(".keygate.toml", "[allow]\npaths = [\"ok/\", \"bad[\"]\n");
    env.keygate()
        .args(["config", "check", ".keygate.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "config `.keygate.toml`, line 2, column 17: `bad[` is not a valid glob: unclosed character class",
        ));
    env.write(
        ".keygate.toml",
        "disable = [\n  \"openai.projekt-key\",\n]\n",
    );
    env.keygate()
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 2, column 3: no rule has the id `openai.projekt-key`",
        ));
}

/// `keygate config check` accepts a good config, custom rules proven, and says what
/// it holds.
#[test]
fn config_check_accepts_a_good_config() {
    let env = TestEnv::new();
    env.write(
        "k.toml",
        format!(
            "disable = [\"openai.legacy-key\"]\n[allow]\npaths = [\"fixtures/\"]\n{}",
            custom_rule(&acme(5))
        ),
    );
    env.keygate()
        .args(["config", "check", "k.toml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "`k.toml` is valid: 1 custom rule (2 examples proven), 1 rule disabled, 1 path glob",
        ));
    env.keygate()
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no `.keygate.toml`"));
}

/// `--config FILE` replaces the discovered config; outside a repository the scanned
/// folder's `.keygate.toml` applies.
#[test]
fn explicit_and_discovered_configs() {
    let env = TestEnv::new();
    env.write("proj/.keygate.toml", "[allow]\npaths = [\"a.py\"]\n");
    env.write("proj/a.py", format!("k = '{}'\n", keys::openai_project(91)));
    env.keygate().args(["scan", "proj"]).assert().code(0);
    env.write("none.toml", "");
    env.keygate()
        .args(["scan", "proj", "--config", "none.toml"])
        .assert()
        .code(1);
    env.keygate()
        .args(["scan", "proj", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "config `missing.toml`: cannot read it",
        ));
}

/// The repository passes its own scanner, scanned as a user would (`.gitignore`
/// honoured, so `target/` is skipped), thanks to its `.keygate.toml` and inline
/// allows on synthetic keys.
#[test]
fn the_repository_passes_its_own_scan() {
    let env = TestEnv::new();
    let root = env!("CARGO_MANIFEST_DIR");
    env.keygate()
        .args(["scan", root, "--no-progress"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no secrets found"));
}

/// Inside a repository whose root has no `.keygate.toml`, the scanned folder's
/// applies to a scan of that folder.
#[test]
fn a_scanned_folder_config_applies_when_the_root_has_none() {
    let env = TestEnv::git_repo();
    env.write("sub/.keygate.toml", "[allow]\npaths = [\"keys.env\"]\n");
    env.write("sub/keys.env", format!("K={}\n", keys::openai_project(93)));
    env.keygate().args(["scan", "sub"]).assert().code(0);
    env.keygate().args(["scan"]).assert().code(1);
}

/// A history scan of a bare repository, which has no work tree, honours the
/// `.keygate.toml` of its `HEAD`.
#[test]
fn a_bare_history_scan_uses_the_config_of_head() {
    let env = TestEnv::new();
    env.write("work/.keygate.toml", "[allow]\npaths = [\"fixtures/\"]\n");
    env.write(
        "work/fixtures/k.env",
        format!("K={}\n", keys::openai_project(95)),
    );
    crate::util::git_in(&env.path().join("work"), &["init", "-q", "-b", "main"]);
    crate::util::git_in(&env.path().join("work"), &["add", "-A"]);
    crate::util::git_in(
        &env.path().join("work"),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "fixtures",
        ],
    );
    env.git(&["clone", "-q", "--bare", "work", "bare.git"]);
    env.keygate()
        .args(["scan", "--history", "bare.git"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 suppressed"));
}
