//! `keygate scan`: resolve settings, run the source, report, choose the exit status.

use std::io::{self, BufWriter, Write};
use std::time::Instant;

use anyhow::Context;

use crate::atomic;
use crate::baseline::Usage;
use crate::cli::{Format, ScanArgs};
use crate::collect::{self, Collector, Stats};
use crate::engine::Scanner;
use crate::finding::{Finding, Suppression};
use crate::report::{self, json, Report};
use crate::settings::{OutputSettings, ScanSettings, Target};
use crate::sources::commit_msg::CommitMsgSource;
use crate::sources::fs::FsSource;
use crate::sources::git::{HistorySource, RangeSource, StagedSource};
use crate::sources::stdin::StdinSource;
use crate::sources::{ScanContext, Source};
use crate::Outcome;

/// A finished scan: what the reporters need.
pub struct ScanOutput {
    pub findings: Vec<Finding>,
    pub stats: Stats,
    pub scanner: Scanner,
    /// Lines for the end of the report (inline allows added by a range, say).
    pub notes: Vec<String>,
    /// For range scans, the findings that an inline allow comment hides: the change
    /// adds them, so a reviewer should see them (`None` for other scans).
    pub inline_allows: Option<Vec<Finding>>,
    /// What the scan did with `--baseline`, if one was given.
    pub baseline: Option<Usage>,
    /// `jsonl` findings were written as found; with `--validate` they wait for
    /// their verdicts and are written with the report.
    pub streamed: bool,
}

pub fn run(args: &ScanArgs) -> anyhow::Result<Outcome> {
    let settings = ScanSettings::resolve(args)?;
    let output = settings.output.clone();
    let exit_code = settings.exit_code;
    let scanned = execute(settings)?;
    // `baseline_stale` is counted only for scans that see a whole tree or history.
    if let Some(usage) = scanned
        .baseline
        .as_ref()
        .filter(|_| scanned.stats.baseline_stale > 0)
    {
        eprintln!(
            "keygate: note: {} of the {} entries of baseline `{}` matched no finding; if this scan \
             covered everything the baseline was made from, drop them with `keygate baseline \
             --baseline {} --prune` and the same scan arguments",
            usage.stale.len(),
            usage.stale.len() + usage.matched.len(),
            usage.name,
            usage.name
        );
    }
    write_report(&output, &scanned)?;
    Ok(outcome(&scanned, exit_code))
}

/// Runs a scan to the end and returns its sorted findings.
pub fn execute(settings: ScanSettings) -> anyhow::Result<ScanOutput> {
    let start = Instant::now();
    let ScanSettings {
        target,
        rules,
        suppressor,
        config,
        output,
        threads,
        max_file_size,
        decode_depth,
        archives,
        no_git,
        follow,
        validation,
        status_filter,
        messages,
        ..
    } = settings;
    // The keyword walk also finds where the decoding stage looks for disguised keys.
    let triggers = if decode_depth > 0 {
        crate::decode::trigger_patterns()
    } else {
        Vec::new()
    };
    let scanner = Scanner::with_triggers(rules, &triggers)?;
    super::rules::prove_custom_rules(&scanner, &config)?;
    let streamed = output.format == Format::Jsonl && validation.is_none();
    let (live, jsonl_file) = match output.format {
        Format::Jsonl if validation.is_none() => {
            let (live, file) = live_jsonl(&output)?;
            (Some(live), file)
        }
        _ => (None, None),
    };
    let keep_suppressed = output.include_suppressed;
    let mut collector = Collector::new(suppressor, keep_suppressed, live);
    let is_range = matches!(target, Target::Range { .. });
    if is_range {
        collector = collector.keeping_inline();
    }
    let ctx = ScanContext {
        scanner: &scanner,
        collector: &collector,
        max_file_size,
        threads,
        decode_depth,
        archives,
    };
    let mut notes = Vec::new();
    match &target {
        Target::Paths { paths, strip_dot } => FsSource {
            paths: paths.clone(),
            strip_dot: *strip_dot,
            no_git,
            follow,
        }
        .scan(&ctx)?,
        Target::Stdin => StdinSource.scan(&ctx)?,
        Target::Staged { repo } => match pre_commit_push_range() {
            // `pre-commit` runs the same `--staged` entry at its pre-push stage, and
            // names the pushed commits in these variables.
            Some(range) => RangeSource {
                repo: repo.clone(),
                range,
            }
            .scan(&ctx)?,
            None => StagedSource { repo: repo.clone() }.scan(&ctx)?,
        },
        Target::History { repo, revs } => HistorySource {
            repo: repo.clone(),
            revs: revs.clone(),
            progress: output.progress,
        }
        .scan(&ctx)?,
        Target::Range { repo, range } => RangeSource {
            repo: repo.clone(),
            range: range.clone(),
        }
        .scan(&ctx)?,
        Target::CommitMsg { file, repo } => CommitMsgSource {
            file: file.clone(),
            repo: repo.clone(),
        }
        .scan(&ctx)?,
    }
    if !messages.texts.is_empty() {
        messages.scan(&ctx)?;
    }
    let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let baseline = collector.suppressor().baseline.as_ref().map(|b| b.usage());
    let (mut findings, mut stats) = collector.finish(elapsed_ms);
    // The stream is complete (and its writer dropped with the collector): only now
    // does it replace the `--output` file.
    if let Some(file) = jsonl_file {
        file.commit(None)?;
    }
    if let Some(usage) = &baseline {
        if !target.is_partial() {
            stats.baseline_stale = usage.stale.len() as u64;
        }
    }
    let inline_allows = is_range.then(|| {
        let allows: Vec<Finding> = findings
            .iter()
            .filter(|f| f.suppression == Some(Suppression::Inline))
            .cloned()
            .collect();
        if !keep_suppressed {
            findings.retain(|f| f.suppression != Some(Suppression::Inline));
        }
        notes.extend(inline_allow_notes(&allows, output.show_secrets));
        allows
    });
    // Findings are final: only now, and only when the command line asks, do keys
    // go to their providers.
    if let Some(validation) = &validation {
        let custom = config.custom_rule_ids().map(str::to_string).collect();
        crate::validate::run(&mut findings, validation, &custom);
        if !status_filter.is_empty() {
            findings.retain(|f| {
                f.validation
                    .as_ref()
                    .is_some_and(|v| status_filter.contains(&v.status))
            });
        }
    }
    Ok(ScanOutput {
        findings,
        stats,
        scanner,
        notes,
        inline_allows,
        baseline,
        streamed,
    })
}

/// The summary lines that show a reviewer each inline allow a range adds.
fn inline_allow_notes(allows: &[Finding], show_secrets: bool) -> Vec<String> {
    if allows.is_empty() {
        return Vec::new();
    }
    let mut notes = vec![format!(
        "{} {} by an inline allow comment that this range adds; a reviewer should confirm {}:",
        allows.len(),
        if allows.len() == 1 {
            "finding is hidden"
        } else {
            "findings are hidden"
        },
        if allows.len() == 1 { "it" } else { "each" },
    )];
    for f in allows {
        let secret = if show_secrets {
            f.secret.clone()
        } else {
            f.redacted()
        };
        let commit = f
            .commit
            .as_ref()
            .map(|c| format!(" in commit {}", crate::finding::short_id(&c.id)))
            .unwrap_or_default();
        // Notes are shown to people (human report, job summary): the path and the
        // rule id (a custom rule's) come from scanned data.
        notes.push(format!(
            "  inline allow: `{}:{}:{}` {} `{secret}`{commit}",
            crate::quote::path(&f.location.path),
            f.location.line,
            f.location.column,
            crate::quote::text(&f.rule_id)
        ));
    }
    notes
}

/// The range `pre-commit` gives a hook at its pre-push stage
/// (`PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF`), if it gives one.
fn pre_commit_push_range() -> Option<String> {
    let from = std::env::var("PRE_COMMIT_FROM_REF").ok()?;
    let to = std::env::var("PRE_COMMIT_TO_REF").ok()?;
    (!from.is_empty() && !to.is_empty()).then(|| format!("{from}..{to}"))
}

/// The writer that streams `jsonl` findings as they are found, and with `--output`
/// the file it streams into, to be committed once the scan is done.
fn live_jsonl(output: &OutputSettings) -> anyhow::Result<(collect::Live, Option<atomic::Pending>)> {
    let show = output.show_secrets;
    let line = move |f: &Finding| json::line(f, show);
    Ok(match &output.path {
        Some(path) => {
            let mut pending = atomic::Pending::create(path)?;
            let file = pending.file()?;
            (
                collect::live_writer(BufWriter::new(file), line),
                Some(pending),
            )
        }
        None => (collect::live_writer(io::stdout(), line), None),
    })
}

/// Writes the report where `--output` says, or to standard output.
pub fn write_report(output: &OutputSettings, scanned: &ScanOutput) -> anyhow::Result<()> {
    let report = Report {
        findings: &scanned.findings,
        stats: scanned.stats,
        rules: scanned.scanner.rules(),
        output,
        notes: &scanned.notes,
        inline_allows: scanned.inline_allows.as_deref(),
    };
    let show = output.show_secrets;
    let write = |format: Format, out: &mut dyn Write| -> io::Result<()> {
        match format {
            Format::Jsonl if !scanned.streamed => {
                for finding in &scanned.findings {
                    writeln!(out, "{}", json::line(finding, show))?;
                }
                Ok(())
            }
            format => report::write(format, &report, out),
        }
    };
    match (&output.path, output.format) {
        (Some(_), Format::Jsonl) if scanned.streamed => Ok(()),
        (Some(path), format) => atomic::write(path, None, |out| write(format, out)),
        (None, format) => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            write(format, &mut out)
                .and_then(|()| out.flush())
                .context("cannot write the report to standard output")
        }
    }
}

/// Exit status: findings first, then unreadable input, else clean.
pub fn outcome(scanned: &ScanOutput, exit_code: u8) -> Outcome {
    if scanned.findings.iter().any(|f| f.suppression.is_none()) {
        Outcome::Findings(exit_code)
    } else if scanned.stats.errors > 0 {
        Outcome::Error
    } else {
        Outcome::Clean
    }
}
