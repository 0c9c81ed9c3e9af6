//! `keygate action`: the logic of the GitHub Action (`action.yml`), kept in the binary
//! so that it is tested like the rest of keygate, without GitHub.
//!
//! From `GITHUB_EVENT_NAME` and the event payload at `GITHUB_EVENT_PATH` it chooses
//! what to scan ([`plan`]): a pull request's `base..head`, a push's `before..after`
//! (a new branch or a force-push whose old tip is gone is scanned from the default
//! branch, else in full), the whole history for scheduled and manual runs. It then
//! runs `keygate scan` with that range, writes SARIF, a redacted table to
//! `GITHUB_STEP_SUMMARY`, `::error` annotations, and the step outputs `findings`,
//! `sarif` and `range` to `GITHUB_OUTPUT`. Configuration and baseline come from the
//! range's base (the `--range` scan's rule), so a pull request cannot allow its own
//! leak. For a pull request it also scans the title and body the payload holds
//! ([`pull_request_texts`]); a key there fails the job like one in the code.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::Value;

use crate::cli::{ActionArgs, Cli, Command, Format, ScanArgs};
use crate::collect::Stats;
use crate::commands::scan::{self, ScanOutput};
use crate::finding::{redact, Finding, MessageOf};
use crate::report::{sarif, Report};
use crate::rules::RuleSet;
use crate::settings::{OutputSettings, ScanSettings, SourceContext};
use crate::Outcome;

/// The most rows the job summary lists; the SARIF file has them all.
const SUMMARY_ROWS: usize = 200;
/// The most `::error` annotations written; GitHub shows 10 a step and 50 a job.
const ANNOTATIONS: usize = 50;

/// What one run of the action scans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// `keygate scan --range A..B`.
    Range(String),
    /// `keygate scan --history`, from these revisions (all refs when empty).
    History(Vec<String>),
    /// Nothing to scan (a deleted branch).
    Nothing(String),
}

impl Plan {
    /// How the step output `range` and the summary name it.
    pub fn describe(&self) -> String {
        match self {
            Plan::Range(range) => range.clone(),
            Plan::History(revs) if revs.is_empty() => "the whole history".into(),
            Plan::History(revs) => format!("the whole history of {}", revs.join(", ")),
            Plan::Nothing(_) => "nothing".into(),
        }
    }
}

/// An all-zero object id: GitHub's `before` of a new branch, `after` of a deletion.
fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

fn field<'a>(payload: &'a Value, pointer: &str) -> Option<&'a str> {
    payload
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Chooses what to scan for `event` with `payload`. `exists` says whether a revision
/// resolves to a commit in the checkout (a force-pushed old tip usually does not).
pub fn plan(event: &str, payload: &Value, exists: &dyn Fn(&str) -> bool) -> anyhow::Result<Plan> {
    let need = |pointer: &str| -> anyhow::Result<String> {
        field(payload, pointer)
            .map(str::to_string)
            .with_context(|| format!("the `{event}` event payload has no `{pointer}`"))
    };
    match event {
        "pull_request" | "pull_request_target" => {
            let base = need("/pull_request/base/sha")?;
            let head = need("/pull_request/head/sha")?;
            for sha in [&base, &head] {
                if !exists(sha) {
                    bail!(
                        "commit `{sha}` of the pull request is not in the checkout: check out \
                         with `fetch-depth: 0`"
                    );
                }
            }
            Ok(Plan::Range(format!("{base}..{head}")))
        }
        "merge_group" => {
            let base = need("/merge_group/base_sha")?;
            let head = need("/merge_group/head_sha")?;
            Ok(Plan::Range(format!("{base}..{head}")))
        }
        "push" => {
            let after = need("/after")?;
            if is_zero(&after) || payload.get("deleted").and_then(Value::as_bool) == Some(true) {
                return Ok(Plan::Nothing("the push deleted a branch".into()));
            }
            let before = field(payload, "/before").unwrap_or_default();
            if !before.is_empty() && !is_zero(before) && exists(before) {
                return Ok(Plan::Range(format!("{before}..{after}")));
            }
            // A new branch, or a force-push whose old tip the checkout does not have:
            // what the default branch does not hold yet, else everything.
            let pushed = field(payload, "/ref").unwrap_or_default();
            if let Some(default) = field(payload, "/repository/default_branch") {
                let base = format!("origin/{default}");
                if pushed != format!("refs/heads/{default}") && exists(&base) {
                    return Ok(Plan::Range(format!("{base}..{after}")));
                }
            }
            Ok(Plan::History(vec![after]))
        }
        _ => Ok(Plan::History(Vec::new())),
    }
}

/// The pull request text an event carries, to scan beside the code: the title and
/// body of a `pull_request` or `pull_request_target` event. A `merge_group` payload
/// names no pull request; the queue's commits, whose messages GitHub builds from the
/// pull request, are in its range and scanned with their messages.
pub fn pull_request_texts(event: &str, payload: &Value) -> Vec<(MessageOf, String)> {
    if !matches!(
        event,
        "pull_request" | "pull_request_target" | "merge_group"
    ) {
        return Vec::new();
    }
    [
        (MessageOf::PullRequestTitle, "/pull_request/title"),
        (MessageOf::PullRequestBody, "/pull_request/body"),
    ]
    .into_iter()
    .filter_map(|(of, pointer)| field(payload, pointer).map(|text| (of, text.to_string())))
    .collect()
}

/// The event GitHub describes in the environment (empty outside Actions).
fn read_event() -> anyhow::Result<(String, Value)> {
    let name = std::env::var("GITHUB_EVENT_NAME").unwrap_or_default();
    let payload = match std::env::var_os("GITHUB_EVENT_PATH") {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the event payload `{}`", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("the event payload `{}` is not JSON", path.display()))?
        }
        _ => Value::Null,
    };
    Ok((name, payload))
}

pub fn run(args: &ActionArgs) -> anyhow::Result<Outcome> {
    let repo = args
        .repo
        .clone()
        .or_else(|| std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let explicit = args
        .range
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    // With `--range`, the event matters only for its pull request's text, so a
    // payload that cannot be read does not stop the scan.
    let (event, payload) = match explicit {
        Some(_) => read_event().unwrap_or_default(),
        None => read_event()?,
    };
    let texts = pull_request_texts(&event, &payload);
    let plan = match explicit {
        Some(range) => Plan::Range(range.to_string()),
        None => {
            let git = git2::Repository::discover(&repo)
                .with_context(|| format!("`{}` is not a git repository", repo.display()))?;
            let exists = |rev: &str| {
                git.revparse_single(rev)
                    .and_then(|o| o.peel_to_commit())
                    .is_ok()
            };
            plan(&event, &payload, &exists)?
        }
    };
    let described = plan.describe();
    set_output("range", &described)?;
    set_output("sarif", &args.sarif.to_string_lossy())?;
    let scan_args = match &plan {
        Plan::Nothing(why) => {
            println!("keygate: nothing to scan: {why}");
            write_empty_sarif(&args.sarif)?;
            set_output("findings", "0")?;
            return Ok(Outcome::Clean);
        }
        Plan::Range(range) => scan_args(&["--range", range], args, &repo)?,
        Plan::History(revs) => {
            let mut flags = vec!["--history"];
            for rev in revs {
                flags.extend(["--rev", rev.as_str()]);
            }
            scan_args(&flags, args, &repo)?
        }
    };
    println!("keygate: scanning {described}");
    let mut settings = ScanSettings::resolve(&scan_args)?;
    if !texts.is_empty() {
        println!("keygate: and the pull request's title and body");
    }
    settings.messages.texts = texts;
    let mut output = settings.output.clone();
    let exit_code = settings.exit_code;
    let scanned = scan::execute(settings)?;
    scan::write_report(&output, &scanned)?;

    // The log gets the human report; the summary and annotations, which anyone who
    // can read the repository sees, are always redacted.
    output.format = Format::Human;
    output.path = None;
    output.color = false;
    scan::write_report(&output, &scanned)?;

    let active: Vec<&Finding> = scanned
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    set_output("findings", &active.len().to_string())?;
    write_summary(&described, &active, &scanned)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for finding in active.iter().take(ANNOTATIONS) {
        writeln!(out, "{}", annotation(finding))?;
    }
    out.flush()?;
    Ok(match scan::outcome(&scanned, exit_code) {
        Outcome::Findings(_) if !args.fail_on_findings => Outcome::Clean,
        other => other,
    })
}

/// A SARIF file without results, so that an `upload-sarif` step after this one finds
/// a file even when there was nothing to scan.
fn write_empty_sarif(path: &Path) -> anyhow::Result<()> {
    let rules = RuleSet::default();
    let output = OutputSettings {
        format: Format::Sarif,
        path: Some(path.to_path_buf()),
        color: false,
        show_secrets: false,
        include_suppressed: false,
        progress: false,
        source: SourceContext {
            root: None,
            paths_relative_to_root: true,
            kind: "range",
        },
    };
    let report = Report {
        findings: &[],
        stats: Stats::default(),
        rules: &rules,
        output: &output,
        notes: &[],
        inline_allows: None,
    };
    crate::atomic::write(path, None, |out| sarif::write(&report, out))
}

/// `keygate scan` arguments for the plan, parsed by the same parser as the command
/// line, so that extra options mean what they mean there.
fn scan_args(flags: &[&str], args: &ActionArgs, repo: &Path) -> anyhow::Result<ScanArgs> {
    let mut argv: Vec<std::ffi::OsString> = vec!["keygate".into(), "scan".into()];
    argv.extend(flags.iter().map(Into::into));
    argv.extend(["--format".into(), "sarif".into(), "--output".into()]);
    argv.push(args.sarif.clone().into());
    argv.push("--no-progress".into());
    argv.extend(args.scan_args.iter().map(Into::into));
    argv.push(repo.into());
    let cli = Cli::try_parse_from(argv).context("the extra scan arguments of the action")?;
    match cli.command {
        Command::Scan(scan) => Ok(scan),
        other => bail!("the action built a `{other:?}` command instead of a scan"),
    }
}

/// Appends `name=value` to `GITHUB_OUTPUT`, if GitHub gave one.
fn set_output(name: &str, value: &str) -> anyhow::Result<()> {
    append_env_file("GITHUB_OUTPUT", &format!("{name}={value}\n"))
}

fn append_env_file(var: &str, text: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write `{}` (`{var}`)", path.display()))
}

/// The job summary: a table of what was found, secrets redacted.
fn write_summary(described: &str, active: &[&Finding], scanned: &ScanOutput) -> anyhow::Result<()> {
    append_env_file("GITHUB_STEP_SUMMARY", &summary(described, active, scanned))
}

fn summary(described: &str, active: &[&Finding], scanned: &ScanOutput) -> String {
    let mut md = String::new();
    let scope = cell(described);
    if active.is_empty() {
        let _ = writeln!(md, "## keygate: no secrets in {scope}\n");
    } else {
        let _ = writeln!(
            md,
            "## keygate: {} {} in {scope}\n",
            active.len(),
            if active.len() == 1 {
                "secret"
            } else {
                "secrets"
            }
        );
        md.push_str("| Severity | Rule | Location | Commit | Secret |\n");
        md.push_str("| --- | --- | --- | --- | --- |\n");
        for f in active.iter().take(SUMMARY_ROWS) {
            let commit = f.commit.as_ref().map_or_else(String::new, |c| {
                format!(
                    "{} {}",
                    cell(crate::finding::short_id(&c.id)),
                    cell_text(&c.author)
                )
            });
            // With `--validate`, the provider's verdict beside the severity.
            let severity = match &f.validation {
                Some(v) => format!("{} ({})", f.severity, v.status),
                None => f.severity.to_string(),
            };
            let _ = writeln!(
                md,
                "| {} | {} {} | {} | {} | {} |",
                severity,
                cell_text(&f.rule_name),
                cell(&f.rule_id),
                cell(&format!(
                    "{}:{}",
                    crate::quote::path(&f.location.path),
                    f.location.line
                )),
                commit,
                cell(&redact(&f.secret)),
            );
        }
        if active.len() > SUMMARY_ROWS {
            let _ = writeln!(
                md,
                "\n{} more are in the SARIF file.",
                active.len() - SUMMARY_ROWS
            );
        }
        md.push_str(
            "\nA key that reached a pushed commit is leaked even if a later commit removes it: \
             revoke and rotate each one, then remove it from the code. A false positive can \
             be marked with a `keygate:allow` comment on its line or recorded in a baseline.\n",
        );
    }
    let suppressed = scanned.stats.suppressed;
    if suppressed > 0 {
        let _ = writeln!(
            md,
            "\n{suppressed} suppressed (inline allow, configuration or baseline)."
        );
    }
    if !scanned.notes.is_empty() {
        md.push('\n');
        for note in &scanned.notes {
            let _ = writeln!(md, "- {}", cell_text(note));
        }
    }
    md.push('\n');
    md
}

/// Text in inline code, safe inside a table cell (see [`crate::quote::markdown_code`]).
fn cell(text: &str) -> String {
    crate::quote::markdown_code(text)
}

/// Plain text, safe inside a table cell: no HTML, Markdown or control character of
/// scanned text takes effect (see [`crate::quote::markdown`]).
fn cell_text(text: &str) -> String {
    crate::quote::markdown(text)
}

/// A workflow command that puts the finding on the file's line in the pull request.
fn annotation(f: &Finding) -> String {
    let loc = &f.location;
    let mut props = String::new();
    // A message is no file of the checkout: its annotation stands on the run, and
    // says where the key is in words.
    if f.message.is_none() {
        let _ = write!(
            props,
            "file={},line={},endLine={},",
            escape_property(&loc.path),
            loc.line,
            loc.end_line
        );
        if loc.line == loc.end_line {
            let _ = write!(props, "col={},endColumn={},", loc.column, loc.end_column);
        }
    }
    let _ = write!(props, "title={}", escape_property(&f.rule_name));
    let mut message = format!(
        "{} `{}` ({}): revoke and rotate it, then load it from a secret store",
        f.rule_name,
        redact(&f.secret),
        f.rule_id
    );
    if let Some(url) = &f.revoke_url {
        let _ = write!(message, " ({url})");
    }
    if let Some(v) = &f.validation {
        let _ = write!(message, "; its provider says: {} ({})", v.status, v.detail);
    }
    if let Some(of) = &f.message {
        let _ = write!(message, "; in {}, line {}", of.describe(), loc.line);
        if let Some(tag) = of.tag() {
            let _ = write!(message, " (tag {})", tag.name);
        }
    }
    if let Some(commit) = &f.commit {
        let _ = write!(
            message,
            "; added in {}",
            crate::finding::short_id(&commit.id)
        );
    }
    format!("::error {props}::{}", escape_data(&message))
}

/// Workflow command data: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command properties: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "1111111111111111111111111111111111111111";
    const HEAD: &str = "2222222222222222222222222222222222222222";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn all(_: &str) -> bool {
        true
    }

    /// A pull request scans base..head, from the payload's commits.
    #[test]
    fn pull_request_scans_base_to_head() {
        let payload = json!({"pull_request": {"base": {"sha": BASE}, "head": {"sha": HEAD}}});
        assert_eq!(
            plan("pull_request", &payload, &all).unwrap(),
            Plan::Range(format!("{BASE}..{HEAD}"))
        );
        let missing = plan("pull_request", &payload, &|rev| rev != BASE).unwrap_err();
        assert!(missing.to_string().contains("fetch-depth: 0"), "{missing}");
    }

    /// A push scans before..after; a new branch (all-zero `before`) or a force-push
    /// whose old tip is gone scans from the default branch, or everything when the
    /// push is to the default branch; a deletion scans nothing.
    #[test]
    fn push_ranges() {
        let push = |before: &str, branch: &str| {
            json!({"before": before, "after": HEAD, "ref": format!("refs/heads/{branch}"),
                   "repository": {"default_branch": "main"}})
        };
        assert_eq!(
            plan("push", &push(BASE, "main"), &all).unwrap(),
            Plan::Range(format!("{BASE}..{HEAD}"))
        );
        assert_eq!(
            plan("push", &push(ZERO, "feature"), &all).unwrap(),
            Plan::Range(format!("origin/main..{HEAD}"))
        );
        let gone = |rev: &str| rev != BASE;
        assert_eq!(
            plan("push", &push(BASE, "feature"), &gone).unwrap(),
            Plan::Range(format!("origin/main..{HEAD}"))
        );
        assert_eq!(
            plan("push", &push(BASE, "main"), &gone).unwrap(),
            Plan::History(vec![HEAD.to_string()])
        );
        let deleted = json!({"before": BASE, "after": ZERO, "deleted": true});
        assert!(matches!(
            plan("push", &deleted, &all).unwrap(),
            Plan::Nothing(_)
        ));
    }

    /// Pull request events give the title and the body that are there (a body left
    /// empty is `null`); other events give none.
    #[test]
    fn pull_request_texts_come_from_pull_request_events() {
        let payload = json!({"pull_request": {"title": "Add it", "body": null}});
        let texts = pull_request_texts("pull_request_target", &payload);
        assert_eq!(
            texts,
            vec![(MessageOf::PullRequestTitle, "Add it".to_string())]
        );
        assert!(pull_request_texts("push", &payload).is_empty());
        assert!(pull_request_texts("merge_group", &json!({"merge_group": {}})).is_empty());
    }

    /// Scheduled and manual runs scan the whole history.
    #[test]
    fn schedule_and_dispatch_scan_everything() {
        for event in ["schedule", "workflow_dispatch"] {
            assert_eq!(
                plan(event, &json!({}), &all).unwrap(),
                Plan::History(Vec::new())
            );
        }
    }

    /// Workflow command escaping keeps paths with `:` and `,` and messages with
    /// newlines in one command.
    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_property("a:b,c%d"), "a%3Ab%2Cc%25d");
        assert_eq!(escape_data("x\ny"), "x%0Ay");
        assert_eq!(cell("a|b`c"), "``a\\|b`c``");
    }
}
