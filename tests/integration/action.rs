//! The GitHub Action's logic (`keygate action`, which `action.yml` runs) without
//! GitHub: fake `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`, `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY`, a local bare repository as the remote, and a fresh clone of
//! it as the checkout, as `actions/checkout` with `fetch-depth: 0` leaves it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::util::{git_in, keys, TestEnv};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A remote (bare), a developer's clone that pushes to it, and a folder for what
/// GitHub would provide (event payload, output files, SARIF).
struct Hub {
    remote: TempDir,
    dev: TestEnv,
    runner: TempDir,
}

/// What one run of the action left behind.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: HashMap<String, String>,
    summary: String,
    sarif: Option<Value>,
}

impl Hub {
    /// A remote whose `main` holds one clean commit.
    fn new() -> Hub {
        let remote = tempfile::Builder::new()
            .prefix("keygate-remote-")
            .tempdir()
            .expect("a temporary folder");
        git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
        let dev = TestEnv::git_repo();
        let url = remote.path().to_str().expect("a UTF-8 temporary path");
        dev.git(&["remote", "add", "origin", url]);
        dev.write("README.md", "# shop\n");
        dev.commit_all("initial");
        dev.git(&["push", "-q", "origin", "main"]);
        Hub {
            remote,
            dev,
            runner: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// A fresh clone of the remote, detached at `sha`, as the job's workspace.
    fn checkout(&self, sha: &str) -> PathBuf {
        let dir = self.runner.path().join("workspace");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the old workspace");
        }
        let url = self.remote.path().to_str().expect("a UTF-8 temporary path");
        let dest = dir.to_str().expect("a UTF-8 temporary path");
        git_in(self.runner.path(), &["clone", "-q", url, dest]);
        git_in(&dir, &["checkout", "-q", "--detach", sha]);
        dir
    }

    /// Runs `keygate action` in a checkout of `sha` for `event` with `payload`.
    fn run(&self, sha: &str, event: &str, payload: Value, extra: &[&str]) -> Run {
        let workspace = self.checkout(sha);
        let event_path = self.runner.path().join("event.json");
        std::fs::write(&event_path, payload.to_string()).expect("write the event payload");
        let output = self.runner.path().join("github_output");
        let summary = self.runner.path().join("step_summary");
        let sarif = self.runner.path().join("keygate.sarif");
        for file in [&output, &summary, &sarif] {
            let _ = std::fs::remove_file(file);
        }
        let out = self
            .dev
            .keygate()
            .current_dir(&workspace)
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env_remove("GITHUB_WORKSPACE")
            .arg("action")
            .arg("--sarif")
            .arg(&sarif)
            .args(extra)
            .output()
            .expect("keygate runs");
        let outputs = std::fs::read_to_string(&output)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Run {
            code: out.status.code().expect("keygate exited"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs,
            summary: std::fs::read_to_string(&summary).unwrap_or_default(),
            sarif: std::fs::read(&sarif)
                .ok()
                .map(|b| serde_json::from_slice(&b).expect("the SARIF file is JSON")),
        }
    }

    fn head(&self) -> String {
        self.dev.git(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

impl Run {
    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output `{name}`: {:?}\n{}", self.outputs, self.stderr))
    }

    fn results(&self) -> &Vec<Value> {
        self.sarif.as_ref().expect("a SARIF file")["runs"][0]["results"]
            .as_array()
            .expect("results")
    }
}

fn pull_request(base: &str, head: &str) -> Value {
    json!({"pull_request": {"number": 7, "base": {"sha": base, "ref": "main"},
                            "head": {"sha": head, "ref": "feature"}}})
}

fn push(before: &str, after: &str, branch: &str) -> Value {
    json!({"ref": format!("refs/heads/{branch}"), "before": before, "after": after,
           "created": before == ZERO, "forced": false,
           "repository": {"default_branch": "main"}})
}

/// A pull request that adds a key fails the job: exit 1, `findings=1`, an `::error`
/// annotation on the line, a summary row with the key redacted, and SARIF whose
/// result carries the commit that added it (and passes the multitool).
#[test]
fn pull_request_adding_a_key_fails() {
    let hub = Hub::new();
    let base = hub.head();
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    let key = keys::openai_project(31);
    hub.dev
        .write("deploy/app.env", format!("# prod\nOPENAI_API_KEY={key}\n"));
    let head = hub.dev.commit_all("add deployment settings");
    hub.dev.git(&["push", "-q", "origin", "feature"]);

    let run = hub.run(&head, "pull_request", pull_request(&base, &head), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("findings"), "1");
    assert_eq!(run.output("range"), format!("{base}..{head}"));
    assert!(run.output("sarif").ends_with("keygate.sarif"));
    assert!(
        run.stdout.contains("::error file=deploy/app.env,line=2,"),
        "{}",
        run.stdout
    );
    assert!(
        run.summary.contains("| high | OpenAI project API key"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains(&keys::openai_project(31)[..8]));
    for text in [&run.stdout, &run.summary] {
        assert!(!text.contains(&key), "the full key was printed");
    }
    let results = run.results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["properties"]["commit"], head.as_str());
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/app.env"
    );
    let file = hub.runner.path().join("keygate.sarif");
    let Some(problems) = crate::sarif::validate(&file) else {
        return;
    };
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A pull request adding a key in a file whose name is Markdown, HTML and a workflow
/// command: the job summary shows the name as inert text (no tag, link, extra table
/// cell or raw newline), and stdout starts no forged workflow command.
#[test]
fn hostile_names_are_inert_in_the_job_summary() {
    let hub = Hub::new();
    let base = hub.head();
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    let name = "x<img src=x onerror=alert(1)>|[a](e.example)*b*\n::stop-commands::zzz\n.env";
    hub.dev
        .write(name, format!("KEY={}\n", keys::openai_project(32)));
    let head = hub.dev.commit_all("add settings");
    hub.dev.git(&["push", "-q", "origin", "feature"]);

    let run = hub.run(&head, "pull_request", pull_request(&base, &head), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let row = run
        .summary
        .lines()
        .find(|l| l.starts_with("| high |"))
        .unwrap_or_else(|| panic!("a finding row: {}", run.summary));
    assert!(
        !run.summary.contains("::stop-commands::zzz\n"),
        "{}",
        run.summary
    );
    // Five cells: six pipes that are not escaped.
    let cells: Vec<&str> = row.split(" | ").collect();
    assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
    // The name sits whole in one code span, where GitHub shows HTML and Markdown as
    // text; quoted as git quotes it.
    let location = cells[2];
    assert!(
        location.starts_with("`\"x<img src=x onerror=alert(1)>\\|[a](e.example)*b*")
            && location.ends_with(r#"\n::stop-commands::zzz\n.env":1`"#),
        "{location}"
    );
    assert_eq!(location.matches('`').count(), 2, "{location}");
    // Outside that span, no tag.
    assert!(
        !run.summary.replace(location, "").contains('<'),
        "{}",
        run.summary
    );
    for line in run.stdout.lines() {
        assert!(!line.starts_with("::stop-commands"), "{}", run.stdout);
    }
}

/// A clean pull request passes: exit 0, `findings=0`, a summary that says so.
#[test]
fn clean_pull_request_passes() {
    let hub = Hub::new();
    let base = hub.head();
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    hub.dev.write(
        "src/app.py",
        "import os\nkey = os.environ[\"OPENAI_API_KEY\"]\n",
    );
    let head = hub.dev.commit_all("read the key from the environment");
    hub.dev.git(&["push", "-q", "origin", "feature"]);

    let run = hub.run(&head, "pull_request", pull_request(&base, &head), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("findings"), "0");
    assert!(run.summary.contains("no secrets"), "{}", run.summary);
    assert!(!run.stdout.contains("::error"));
    assert!(run.results().is_empty());
}

/// The push of a new branch (all-zero `before`) scans what `main` does not hold: the
/// new key is found, an old one already on `main` is not reported again.
#[test]
fn push_of_a_new_branch_scans_what_main_lacks() {
    let hub = Hub::new();
    hub.dev
        .write("old.env", format!("KEY={}\n", keys::openai_project(41)));
    hub.dev.commit_all("an old leak, already on main");
    hub.dev.git(&["push", "-q", "origin", "main"]);
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    hub.dev
        .write("new.env", format!("KEY={}\n", keys::openai_project(43)));
    let after = hub.dev.commit_all("a new leak");
    hub.dev.git(&["push", "-q", "origin", "feature"]);

    let run = hub.run(&after, "push", push(ZERO, &after, "feature"), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("range"), format!("origin/main..{after}"));
    assert_eq!(run.output("findings"), "1");
    let uris: Vec<&str> = run
        .results()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .expect("a URI")
        })
        .collect();
    assert_eq!(uris, ["new.env"]);
}

/// A force-push whose old tip the checkout no longer has still scans the rewritten
/// commits (from `main`), and finds the key they add.
#[test]
fn force_push_scans_the_rewritten_commits() {
    let hub = Hub::new();
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    hub.dev.write("notes.txt", "draft\n");
    let before = hub.dev.commit_all("draft");
    hub.dev.git(&["push", "-q", "origin", "feature"]);
    hub.dev.git(&["reset", "-q", "--hard", "main"]);
    hub.dev
        .write("notes.txt", format!("token {}\n", keys::openai_project(51)));
    let after = hub.dev.commit_all("draft, rewritten");
    hub.dev.git(&["push", "-q", "--force", "origin", "feature"]);
    // The remote still holds the old tip as a loose object; the clone must not.
    git_in(hub.remote.path(), &["gc", "-q", "--prune=now"]);

    let mut payload = push(&before, &after, "feature");
    payload["forced"] = json!(true);
    let run = hub.run(&after, "push", payload, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("range"), format!("origin/main..{after}"));
    assert_eq!(run.output("findings"), "1");
    assert_eq!(run.results()[0]["properties"]["commit"], after.as_str());
}

/// A pull request that adds a key together with a `.keygate.toml` that would allow
/// it still fails: the configuration comes from the base, not from the change.
#[test]
fn pull_request_cannot_allow_its_own_key() {
    let hub = Hub::new();
    let base = hub.head();
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    hub.dev
        .write("app.env", format!("KEY={}\n", keys::openai_project(61)));
    hub.dev
        .write(".keygate.toml", "[allow]\npaths = [\"app.env\"]\n");
    let head = hub.dev.commit_all("add a key and allow it");
    hub.dev.git(&["push", "-q", "origin", "feature"]);
    // The allow works where the change's own config applies: a folder scan passes.
    hub.dev.keygate().args(["scan", "."]).assert().code(0);

    let run = hub.run(&head, "pull_request", pull_request(&base, &head), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("findings"), "1");
}

/// A scheduled run scans the whole history: a key added and removed again is found,
/// with the commit that added it.
#[test]
fn schedule_scans_the_whole_history() {
    let hub = Hub::new();
    hub.dev
        .write("tmp.env", format!("KEY={}\n", keys::openai_project(71)));
    let added = hub.dev.commit_all("try something");
    std::fs::remove_file(hub.dev.path().join("tmp.env")).expect("remove");
    let head = hub.dev.commit_all("clean up");
    hub.dev.git(&["push", "-q", "origin", "main"]);

    let run = hub.run(&head, "schedule", json!({"schedule": "0 3 * * *"}), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("range"), "the whole history");
    assert_eq!(run.results()[0]["properties"]["commit"], added.as_str());
}

/// With `--fail-on-findings false` a leak is reported but the job passes.
#[test]
fn fail_on_findings_false_reports_and_passes() {
    let hub = Hub::new();
    let base = hub.head();
    hub.dev
        .write("a.env", format!("KEY={}\n", keys::openai_project(81)));
    let head = hub.dev.commit_all("leak");
    hub.dev.git(&["push", "-q", "origin", "main"]);
    let run = hub.run(
        &head,
        "pull_request",
        pull_request(&base, &head),
        &["--fail-on-findings", "false"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("findings"), "1");
    assert!(run.stdout.contains("::error file=a.env,line=1,"));
}

/// The push that deletes a branch has nothing to scan and passes.
#[test]
fn push_deleting_a_branch_scans_nothing() {
    let hub = Hub::new();
    let head = hub.head();
    let mut payload = push(&head, ZERO, "gone");
    payload["deleted"] = json!(true);
    let run = hub.run(&head, "push", payload, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("findings"), "0");
    assert_eq!(run.output("range"), "nothing");
    assert!(
        run.results().is_empty(),
        "an empty SARIF file for upload-sarif"
    );
}

/// A pull request whose commits the checkout lacks (a shallow checkout) is an
/// error that says how to fix the workflow, not a silent pass.
#[test]
fn missing_pull_request_commits_are_an_error() {
    let hub = Hub::new();
    let head = hub.head();
    let run = hub.run(
        &head,
        "pull_request",
        pull_request("3333333333333333333333333333333333333333", &head),
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
}

/// Extra scan options that keygate does not know are an error naming them.
#[test]
fn bad_extra_arguments_are_an_error() {
    let hub = Hub::new();
    let head = hub.head();
    let run = hub.run(
        &head,
        "push",
        push(&head, &head, "main"),
        &["--", "--no-such-flag"],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
}

/// `action.yml` runs `keygate action` with every input passed through the
/// environment (never spliced into the script), calls the binary it installed by its
/// full path, and declares the outputs the command writes. (How it installs is
/// tested in `install.rs`.)
#[test]
fn action_yml_wires_inputs_and_outputs() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml at the crate root");
    assert!(text.contains("using: composite"));
    assert!(text.contains("\"$KEYGATE_BIN\" action"));
    assert!(
        !text.contains("$GITHUB_PATH"),
        "the binary is called by its path, not put on GITHUB_PATH"
    );
    for input in ["range", "sarif", "fail-on-findings", "args"] {
        assert!(text.contains(&format!("\n  {input}:\n")), "input `{input}`");
        assert!(
            text.contains(&format!(": ${{{{ inputs.{input} }}}}\n")),
            "input `{input}` goes through the environment"
        );
    }
    for output in ["findings", "sarif", "range"] {
        assert!(text.contains(&format!("steps.scan.outputs.{output} }}}}")));
    }
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("run:") {
            let script = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || indent(l) > indent(line));
            for l in script {
                assert!(!l.contains("${{"), "an expression inside a script: {l}");
            }
        }
    }
}

/// The `range` input wins over the event: a schedule event with an explicit range
/// scans only that range, so an old key outside it is not reported.
#[test]
fn range_input_overrides_the_event() {
    let hub = Hub::new();
    hub.dev
        .write("old.env", format!("KEY={}\n", keys::openai_project(91)));
    let old = hub.dev.commit_all("old leak");
    hub.dev
        .write("new.env", format!("KEY={}\n", keys::openai_project(93)));
    let head = hub.dev.commit_all("new leak");
    hub.dev.git(&["push", "-q", "origin", "main"]);
    let range = format!("{old}..{head}");
    let run = hub.run(&head, "schedule", json!({}), &["--range", &range]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.output("range"), range);
    assert_eq!(run.output("findings"), "1");
    assert!(
        run.stdout.contains("::error file=new.env,line=1,"),
        "{}",
        run.stdout
    );
}

/// A pull request whose body holds a key (and whose code and commits are clean)
/// fails the job like a key in the code: exit 1, `findings`, a summary row and an
/// annotation that name the pull request body, a SARIF result at `PULL_REQUEST`
/// that passes the multitool; the key is never printed whole, in the log, the
/// summary or the SARIF file. The title is scanned too; `merge_group` events,
/// whose payload holds no pull request, scan the queue's range alone.
#[test]
fn pull_request_body_holding_a_key_fails() {
    let hub = Hub::new();
    let base = hub.head();
    hub.dev.git(&["checkout", "-q", "-b", "feature"]);
    hub.dev.write("src/app.py", "print('hello')\n");
    let head = hub.dev.commit_all("add the app");
    hub.dev.git(&["push", "-q", "origin", "feature"]);

    let key = keys::openai_project(190);
    let mut payload = pull_request(&base, &head);
    payload["pull_request"]["title"] = json!("Add the app");
    payload["pull_request"]["body"] = json!(format!(
        "Works locally:\r\n\r\n    OPENAI_API_KEY={key} python app.py {key}\r\n"
    ));
    let run = hub.run(&head, "pull_request", payload.clone(), &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    // The key is written twice on its line: two findings, neither shown whole.
    assert_eq!(run.output("findings"), "2");
    assert!(
        run.summary.contains("`<pull request body>:3`"),
        "{}",
        run.summary
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("::error title=") && l.contains("the pull request body, line 3")),
        "{}",
        run.stdout
    );
    let sarif = std::fs::read_to_string(hub.runner.path().join("keygate.sarif")).expect("SARIF");
    for (what, text) in [
        ("log", &run.stdout),
        ("summary", &run.summary),
        ("SARIF", &sarif),
    ] {
        assert!(
            !text.contains(&key),
            "the full key is in the {what}:\n{text}"
        );
    }
    let results = run.results();
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "PULL_REQUEST"
    );
    assert_eq!(results[0]["properties"]["message"], "pull_request_body");
    let file = hub.runner.path().join("keygate.sarif");
    if let Some(problems) = crate::sarif::validate(&file) {
        assert!(problems.is_empty(), "{problems:#?}");
    }

    // The title, and the same for `pull_request_target`.
    payload["pull_request"]["body"] = Value::Null;
    payload["pull_request"]["title"] = json!(format!("Use {key}"));
    let run = hub.run(&head, "pull_request_target", payload, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.summary.contains("`<pull request title>:1`"),
        "{}",
        run.summary
    );

    // A push carries no pull request text, nor does a merge group: the clean range
    // passes.
    let run = hub.run(&head, "push", push(&base, &head, "feature"), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let group = json!({"merge_group": {"base_sha": base, "head_sha": head}});
    let run = hub.run(&head, "merge_group", group, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
