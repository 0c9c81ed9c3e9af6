//! Keys in messages through the real binary (issue 14): commit and annotated-tag
//! messages in `--history` and `--range` scans, with their commit, lines inside the
//! message, redaction, fingerprints, stats and suppression; and `--commit-msg`,
//! which scans a proposed message for what git's cleanup keeps of it.

use serde_json::Value;

use crate::suppress::scan_json;
use crate::util::{keys, TestEnv};

/// The findings of a JSON document that are in messages.
fn in_messages(doc: &Value) -> Vec<&Value> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["origin"] == "message")
        .collect()
}

/// The fingerprint of a plain finding of `key`, from a scan of standard input.
fn fingerprint_of(env: &TestEnv, key: &str) -> String {
    let out = env
        .keygate()
        .args(["scan", "-", "--format", "json"])
        .write_stdin(format!("KEY={key}\n"))
        .output()
        .expect("keygate runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    doc["findings"][0]["fingerprint"]
        .as_str()
        .expect("a finding")
        .to_string()
}

/// A repository whose second commit holds a key on line 3 of its message, reached by
/// two branches and a lightweight tag, and an annotated tag with a key of its own on
/// line 2 of its message.
fn repo_with_messages() -> (TestEnv, String, String, String) {
    let env = TestEnv::git_repo();
    env.write("README.md", "# shop\n");
    env.commit_all("initial");
    env.write("src/app.py", "print('hello')\n");
    let commit_key = keys::openai_project(140);
    let leaky = env.commit_all(&format!(
        "Try the API\n\nworks locally with:\n  OPENAI_API_KEY={commit_key} python app.py\n"
    ));
    env.git(&["branch", "copy"]);
    env.git(&["tag", "light"]);
    let tag_key = keys::openai_project(142);
    env.git(&[
        "tag",
        "-a",
        "v1.0",
        "-m",
        &format!("Release 1.0\nkey for the demo: {tag_key}\n"),
    ]);
    (env, leaky, commit_key, tag_key)
}

/// `--history` reports a key in a commit message and one in an annotated tag's
/// message: the path says so, the lines and columns are the message's, the commit
/// (id, author, date, summary) is the one that holds it, the tag is named, the key is
/// redacted and fingerprinted as in a file. The message is scanned once however many
/// refs reach it, and `stats.messages` counts each commit and tag once.
#[test]
fn history_finds_keys_in_commit_and_tag_messages() {
    let (env, leaky, commit_key, tag_key) = repo_with_messages();
    let out = env
        .keygate()
        .args(["scan", "--history", "--format", "json"])
        .output()
        .expect("keygate runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(&commit_key) && !stdout.contains(&tag_key));
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    let found = in_messages(&doc);
    assert_eq!(found.len(), 2, "{doc:#}");

    let commit = found
        .iter()
        .find(|f| f["message"] == "commit")
        .expect("the commit message finding");
    assert_eq!(commit["path"], "<commit message>");
    assert_eq!(commit["rule_id"], "openai.project-key");
    assert_eq!(
        (commit["line"].as_u64(), commit["column"].as_u64()),
        (Some(4), Some(18))
    );
    assert_eq!(commit["commit"]["id"], leaky.as_str());
    assert_eq!(commit["commit"]["author"], "Test User");
    assert_eq!(commit["commit"]["date"], "2024-01-02T03:04:05Z");
    assert_eq!(commit["commit"]["summary"], "Try the API");
    assert_eq!(
        commit["secret_redacted"],
        format!(
            "{}…{}",
            &commit_key[..8],
            &commit_key[commit_key.len() - 2..]
        )
    );
    assert_eq!(
        commit["fingerprint"],
        fingerprint_of(&env, &commit_key).as_str()
    );

    let tag = found
        .iter()
        .find(|f| f["message"] == "tag")
        .expect("the tag message finding");
    assert_eq!(tag["path"], "<tag message>");
    assert_eq!(
        (tag["line"].as_u64(), tag["column"].as_u64()),
        (Some(2), Some(19))
    );
    assert_eq!(tag["tag"]["name"], "v1.0");
    let tag_id = env.git(&["rev-parse", "v1.0"]);
    assert_eq!(tag["tag"]["id"], tag_id.trim());
    assert_eq!(tag["commit"]["id"], leaky.as_str());

    // Two commits and one annotated tag: three messages, each once.
    assert_eq!(doc["stats"]["messages"], 3, "{doc:#}");
    assert_eq!(doc["stats"]["blobs"], 2, "{doc:#}");

    // Human output names the message and the commit, never the whole key.
    let out = env
        .keygate()
        .args(["scan", "--history"])
        .output()
        .expect("keygate runs");
    let human = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "<commit message>\n  4:18",
        "<tag message>\n  2:19",
        "tag:     v1.0",
        "Try the API",
        "in 2 messages",
    ] {
        assert!(human.contains(expected), "`{expected}` not in:\n{human}");
    }
    assert!(
        !human.contains(&commit_key) && !human.contains(&tag_key),
        "{human}"
    );
}

/// `--rev` walks only what it names: a commit message outside the walk is not
/// scanned, and only the tags named there are.
#[test]
fn history_with_rev_scans_the_messages_it_walks() {
    let (env, _, _, _) = repo_with_messages();
    let (code, doc) = scan_json(&env, &["--history", "--rev", "HEAD~1"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["messages"], 1, "{doc:#}");
    let (code, doc) = scan_json(&env, &["--history", "--rev", "v1.0"]);
    assert_eq!(code, 1, "{doc:#}");
    let kinds: Vec<&Value> = in_messages(&doc).iter().map(|f| &f["message"]).collect();
    assert_eq!(kinds, ["commit", "tag"], "{doc:#}");
}

/// `--range A..B` scans the messages of the commits in the range, of the tags on
/// them and of a tag it names; a message (commit or tag) outside the range is not
/// reported.
#[test]
fn range_finds_keys_in_the_messages_it_introduces() {
    let env = TestEnv::git_repo();
    env.write("README.md", "# shop\n");
    let old_key = keys::openai_project(150);
    let base = env.commit_all(&format!("initial\n\nold {old_key}\n"));
    env.git(&[
        "tag",
        "-a",
        "v0",
        "-m",
        &format!("old tag {}", keys::openai_project(152)),
    ]);
    env.write("a.txt", "one\n");
    let key = keys::openai_project(154);
    let leaky = env.commit_all(&format!("add a\n\n{key}\n"));
    env.write("b.txt", "two\n");
    let head = env.commit_all("add b");
    env.git(&[
        "tag",
        "-a",
        "v1",
        "-m",
        &format!("release\n\n{}", keys::openai_project(156)),
    ]);

    let range = format!("{base}..{head}");
    let (code, doc) = scan_json(&env, &["--range", &range]);
    assert_eq!(code, 1, "{doc:#}");
    let found = in_messages(&doc);
    assert_eq!(found.len(), 2, "{doc:#}");
    assert_eq!(found[0]["path"], "<commit message>");
    assert_eq!(found[0]["line"], 3);
    assert_eq!(found[0]["commit"]["id"], leaky.as_str());
    assert_eq!(found[1]["path"], "<tag message>");
    assert_eq!(found[1]["line"], 3);
    assert_eq!(found[1]["tag"]["name"], "v1");
    assert_eq!(found[1]["commit"]["id"], head.as_str());
    assert_eq!(doc["stats"]["messages"], 3, "{doc:#}");

    // A tag named as the range's tip (as the pre-push hook names a pushed tag) is
    // scanned even when its commit is not in the range.
    let (code, doc) = scan_json(&env, &["--range", &format!("{head}..v1")]);
    assert_eq!(code, 1, "{doc:#}");
    let found = in_messages(&doc);
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["tag"]["name"], "v1");
    let (code, doc) = scan_json(&env, &["--range", &format!("{head}..{head}")]);
    assert_eq!(code, 0, "{doc:#}");
}

/// Inline allow markers in a message count; `[allow] secrets` and `[allow]
/// regexes` apply; `[allow] paths` does not, even a glob that matches everything;
/// a baseline made from the history suppresses message findings.
#[test]
fn suppression_of_message_findings() {
    let env = TestEnv::git_repo();
    let allowed = keys::openai_project(160);
    env.write("README.md", "# shop\n");
    env.commit_all(&format!("docs\n\nexample {allowed} keygate:allow\n"));
    let (code, doc) = scan_json(&env, &["--history"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["suppressed"], 1);

    let key = keys::openai_project(162);
    env.write("notes.txt", format!("{}\n", keys::openai_project(164)));
    env.commit_all(&format!("notes\n\n{key}\n"));
    env.write(
        ".keygate.toml",
        "[allow]\npaths = [\"**\", \"<commit message>\", \"*\"]\n",
    );
    let (code, doc) = scan_json(&env, &["--history"]);
    assert_eq!(code, 1, "{doc:#}");
    let paths: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| &f["path"])
        .collect();
    assert_eq!(
        paths,
        ["<commit message>"],
        "paths allow files only: {doc:#}"
    );

    env.write(
        ".keygate.toml",
        format!(
            "[allow]\nsecrets = [\"{key}\"]\nregexes = [\"^{}\"]\n",
            &keys::openai_project(164)[..20]
        ),
    );
    let (code, doc) = scan_json(&env, &["--history"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["suppressed"], 3, "{doc:#}");

    std::fs::remove_file(env.path().join(".keygate.toml")).expect("remove the config");
    env.keygate()
        .args(["baseline", "--history", "--output", "baseline.json"])
        .assert()
        .code(0);
    let (code, doc) = scan_json(&env, &["--history", "--baseline", "baseline.json"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["suppressed"], 3, "{doc:#}");
}

/// Runs `keygate scan --commit-msg FILE --format json` with `env_vars` set; returns
/// the exit status and the lines of the findings.
fn commit_msg(env: &TestEnv, message: &str, env_vars: &[(&str, &str)]) -> (i32, Vec<u64>) {
    let file = env.write(".git/COMMIT_EDITMSG", message);
    let mut cmd = env.keygate();
    cmd.args(["scan", "--format", "json", "--commit-msg"])
        .arg(&file)
        .env_remove("GIT_EDITOR");
    for (name, value) in env_vars {
        cmd.env(name, value);
    }
    let out = cmd.output().expect("keygate runs");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    for f in doc["findings"].as_array().expect("findings") {
        assert_eq!(f["path"], "<commit message>");
        assert_eq!(f["origin"], "message");
    }
    let lines = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["line"].as_u64().expect("a line"))
        .collect();
    (out.status.code().expect("an exit status"), lines)
}

/// `--commit-msg` leaves out what git drops from an edited message: comment lines
/// and everything from the scissors line on (`git commit -v`'s diff); lines are the
/// file's. Without an editor (`GIT_EDITOR=:`, as git tells its hooks after `-m`),
/// git keeps comment lines, and so they are scanned.
#[test]
fn commit_msg_leaves_out_comments_and_the_scissors() {
    let env = TestEnv::git_repo();
    let message = format!(
        "Subject\n\n# {}\nbody {}\n# Please enter the commit message for your changes.\n\
         # ------------------------ >8 ------------------------\n+KEY={}\n",
        keys::openai_project(170),
        keys::openai_project(172),
        keys::openai_project(174)
    );
    assert_eq!(commit_msg(&env, &message, &[]), (1, vec![4]));
    assert_eq!(
        commit_msg(&env, &message, &[("GIT_EDITOR", ":")]),
        (1, vec![3, 4, 7])
    );
    let clean = "Subject\n\n# a comment\n";
    assert_eq!(commit_msg(&env, clean, &[]), (0, vec![]));
    let only_comment = format!("Subject\n# {}\n", keys::openai_project(176));
    assert_eq!(commit_msg(&env, &only_comment, &[]), (0, vec![]));

    // `commit.cleanup = verbatim` keeps everything, `scissors` keeps comments.
    env.git(&["config", "commit.cleanup", "verbatim"]);
    assert_eq!(commit_msg(&env, &message, &[]), (1, vec![3, 4, 7]));
    env.git(&["config", "commit.cleanup", "scissors"]);
    assert_eq!(commit_msg(&env, &message, &[]), (1, vec![3, 4]));
}

/// `core.commentChar` says which lines are comments, `auto` included; a `#` line
/// is text then, and scanned.
#[test]
fn commit_msg_follows_core_comment_char() {
    let env = TestEnv::git_repo();
    env.git(&["config", "core.commentChar", ";"]);
    let message = format!(
        "Subject\n\n# {}\n; {}\n; ------------------------ >8 ------------------------\n{}\n",
        keys::openai_project(180),
        keys::openai_project(182),
        keys::openai_project(184)
    );
    assert_eq!(commit_msg(&env, &message, &[]), (1, vec![3]));

    env.git(&["config", "core.commentChar", "auto"]);
    let auto = format!(
        "Subject {}\n\n; {}\n; Please enter the commit message for your changes. Lines starting\n\
         ; with ';' will be ignored.\n",
        keys::openai_project(186),
        keys::openai_project(188)
    );
    assert_eq!(commit_msg(&env, &auto, &[]), (1, vec![1]));
}

/// A missing message file is an error (exit 2), not a pass.
#[test]
fn commit_msg_of_a_missing_file_is_an_error() {
    let env = TestEnv::git_repo();
    env.keygate()
        .args(["scan", "--commit-msg", "no-such-file"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no-such-file"));
}
