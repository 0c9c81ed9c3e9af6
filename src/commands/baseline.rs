//! `keygate baseline`: record the current findings as accepted.
//!
//! Runs the scan its arguments describe (the same arguments as `keygate scan`) and
//! writes the fingerprints of what it finds to `--output` (standard output without
//! it). With `--baseline OLD` the new file keeps every entry of `OLD` and adds the new
//! findings; with `--prune` as well it keeps only the entries of `OLD` that still
//! match a finding and adds nothing, so pruning can never accept a new leak. Findings
//! that an inline comment or the config allows are not recorded: they need no entry.
//!
//! An entry is stale only if a scan of everything the baseline covers misses it, so
//! `--prune` refuses, before writing anything, a scan that sees only part of it:
//! staged changes, a range, standard input, chosen revisions, a subfolder or some
//! files, and a scan that could not read or skipped some input.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

use crate::baseline::{self, Entry};
use crate::cli::{BaselineArgs, Format};
use crate::settings::{ScanSettings, Target};
use crate::Outcome;

use super::scan;

pub fn run(args: &BaselineArgs) -> anyhow::Result<Outcome> {
    let common = &args.scan.common;
    if args.prune && common.baseline.is_none() {
        bail!("`--prune` drops the stale entries of a baseline: name it with `--baseline FILE`");
    }
    if common.format.is_some() {
        bail!("`keygate baseline` writes a baseline file; `--format` does not apply to it");
    }
    let mut settings = ScanSettings::resolve(&args.scan)?;
    let partial = settings.target.is_partial();
    if args.prune {
        let baseline = common.baseline.as_deref().unwrap_or(Path::new("."));
        if let Some(part) = partial_scan(&settings.target, baseline) {
            bail!(
                "`--prune` needs a scan of everything the baseline covers, and this one sees \
                 only {part}: entries it does not see are not stale. Nothing was written; \
                 prune with a scan of the whole folder or history (`keygate baseline \
                 --baseline FILE --prune` at the repository root, or `--history`)"
            );
        }
    }
    // Nothing is reported: the findings only become entries. `json` keeps the scan
    // from streaming findings as `jsonl` would.
    settings.output.format = Format::Json;
    settings.output.include_suppressed = false;
    // A baseline records what was found, not whether it works: no key is sent, and
    // `--status` must not leave findings out of it.
    settings.validation = None;
    settings.status_filter.clear();
    let scanned = scan::execute(settings)?;

    let current: BTreeSet<Entry> = scanned
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .map(Entry::of)
        .collect();
    let usage = scanned.baseline.unwrap_or_default();
    let unseen = scanned.stats.errors + scanned.stats.skipped;
    if args.prune && unseen > 0 {
        bail!(
            "`--prune` needs every file read, and {unseen} {} could not be read or {} \
             skipped (see above): entries found only there would be dropped. Nothing was \
             written; {} stale {} kept",
            if unseen == 1 { "input" } else { "inputs" },
            if unseen == 1 { "was" } else { "were" },
            usage.stale.len(),
            if usage.stale.len() == 1 {
                "entry is"
            } else {
                "entries are"
            },
        );
    }
    let old: BTreeSet<Entry> = usage.matched.iter().chain(&usage.stale).cloned().collect();
    let entries: BTreeSet<Entry> = if args.prune {
        usage.matched.iter().cloned().collect()
    } else {
        old.union(&current).cloned().collect()
    };
    let text = baseline::render_entries(entries.iter().cloned());

    let target = common
        .output
        .clone()
        .or_else(|| args.prune.then(|| common.baseline.clone()).flatten());
    let shown = match &target {
        Some(path) => {
            crate::atomic::write(path, None, |out| out.write_all(text.as_bytes()))?;
            format!("`{}`", path.display())
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write the baseline to standard output")?;
            "standard output".to_string()
        }
    };

    let added = entries.difference(&old).count();
    let kept = entries.len() - added;
    let mut summary = format!(
        "keygate: wrote {shown}: {} {} ({added} new, {kept} kept",
        entries.len(),
        if entries.len() == 1 {
            "entry"
        } else {
            "entries"
        },
    );
    if args.prune {
        summary.push_str(&format!(", {} stale dropped)", usage.stale.len()));
    } else {
        summary.push(')');
    }
    eprintln!("{summary}");
    let refused = current.difference(&entries).count();
    if refused > 0 {
        eprintln!(
            "keygate: note: {refused} {} not in the baseline and {} not added (`--prune` only \
             drops entries; run without it to accept new findings)",
            if refused == 1 {
                "finding is"
            } else {
                "findings are"
            },
            if refused == 1 { "was" } else { "were" },
        );
    }
    if !args.prune && !partial && !usage.stale.is_empty() {
        eprintln!(
            "keygate: note: {} {} of `{}` matched no finding and {} kept; `--prune` drops \
             stale entries",
            usage.stale.len(),
            if usage.stale.len() == 1 {
                "entry"
            } else {
                "entries"
            },
            usage.name,
            if usage.stale.len() == 1 {
                "was"
            } else {
                "were"
            },
        );
    }
    if scanned.stats.errors > 0 {
        eprintln!(
            "keygate: error: some input could not be read (see above): the baseline may miss \
             findings in it"
        );
        return Ok(Outcome::Error);
    }
    Ok(Outcome::Clean)
}

/// What part of the baseline's ground a scan sees, when it does not see all of it:
/// `None` for a whole history, or a folder scan of the whole repository (or, outside a
/// repository, of a folder that holds the baseline's own folder).
fn partial_scan(target: &Target, baseline: &Path) -> Option<String> {
    match target {
        Target::Staged { .. } => Some("staged changes".into()),
        Target::Range { range, .. } => Some(format!("the range `{range}`")),
        Target::Stdin => Some("standard input".into()),
        Target::CommitMsg { .. } => Some("a commit message".into()),
        Target::History { revs, .. } if !revs.is_empty() => {
            Some(format!("the revisions `{}`", revs.join(" ")))
        }
        Target::History { .. } => None,
        Target::Paths { paths, .. } => {
            let [one] = paths.as_slice() else {
                return Some(format!("{} chosen paths", paths.len()));
            };
            if !one.is_dir() {
                return Some(format!("the file `{}`", one.display()));
            }
            let folder = crate::suppress::canonical(one);
            let whole = match git2::Repository::discover(one) {
                Ok(repo) => repo
                    .workdir()
                    .is_none_or(|root| crate::suppress::canonical(root) == folder),
                Err(_) => {
                    let home = baseline.parent().filter(|p| !p.as_os_str().is_empty());
                    let home = crate::suppress::canonical(home.unwrap_or(Path::new(".")));
                    home.starts_with(&folder)
                }
            };
            (!whole).then(|| format!("the folder `{}`", one.display()))
        }
    }
}
