//! The collector: where every source delivers its findings, errors and counts.
//!
//! Sources run on many threads; the collector is shared by all of them. It applies
//! the scan's [`Suppressor`], keeps the findings for the final, sorted report, streams
//! them as found when the output format asks for that (`jsonl`), and reports
//! unreadable input on stderr at once, so that one bad file never stops a scan.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::finding::{Finding, Suppression};
use crate::suppress::Suppressor;

/// Counters of one scan, as the JSON `stats` object reports them.
#[derive(Debug, Default)]
pub struct Counters {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub blobs: AtomicU64,
    pub messages: AtomicU64,
    pub suppressed: AtomicU64,
    pub errors: AtomicU64,
    pub skipped: AtomicU64,
    pub archive_members: AtomicU64,
    pub archive_limited: AtomicU64,
    pub archive_errors: AtomicU64,
}

/// A snapshot of [`Counters`] plus the elapsed time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub files: u64,
    pub bytes: u64,
    pub blobs: u64,
    /// Commit, tag and pull request messages scanned (omitted when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub messages: u64,
    pub elapsed_ms: u64,
    pub suppressed: u64,
    pub errors: u64,
    /// Files passed over by `--max-file-size`.
    pub skipped: u64,
    /// Baseline entries that matched no finding of a full scan (omitted when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub baseline_stale: u64,
    /// Archive members scanned (omitted when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_members: u64,
    /// Archive parts passed over or cut short by a limit (omitted when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_limited: u64,
    /// Archives that could not be read, in part or at all (omitted when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_errors: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Called with each unsuppressed finding as it is found (for `jsonl`).
pub type Live = Box<dyn FnMut(&Finding) -> std::io::Result<()> + Send>;

/// Shared sink for findings and errors.
pub struct Collector {
    suppressor: Suppressor,
    keep_suppressed: bool,
    keep_inline: bool,
    findings: Mutex<Vec<Finding>>,
    live: Option<Mutex<Live>>,
    pub counters: Counters,
}

impl Collector {
    /// `keep_suppressed` keeps suppressed findings (marked) for reporters that show
    /// them; otherwise they are only counted.
    pub fn new(suppressor: Suppressor, keep_suppressed: bool, live: Option<Live>) -> Collector {
        Collector {
            suppressor,
            keep_suppressed,
            keep_inline: false,
            findings: Mutex::new(Vec::new()),
            live: live.map(Mutex::new),
            counters: Counters::default(),
        }
    }

    /// Also keeps findings allowed by an inline comment, so that a range scan can
    /// list the allows a change adds for its reviewer.
    pub fn keeping_inline(mut self) -> Collector {
        self.keep_inline = true;
        self
    }

    pub fn suppressor(&self) -> &Suppressor {
        &self.suppressor
    }

    /// Takes one finding from a source.
    pub fn push(&self, mut finding: Finding) {
        finding.suppression = self.suppressor.check(&finding);
        if finding.suppression.is_some() {
            self.counters.suppressed.fetch_add(1, Ordering::Relaxed);
            let inline = finding.suppression == Some(Suppression::Inline);
            let keep = self.keep_suppressed || (self.keep_inline && inline);
            if !keep {
                return;
            }
        } else if let Some(live) = &self.live {
            let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(err) = live(&finding) {
                self.error("output", &err.to_string());
            }
        }
        self.findings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(finding);
    }

    /// Reports input that could not be read; the scan goes on.
    pub fn error(&self, what: &str, message: &str) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        // `what` is a path or name from scanned data; the message may quote more.
        eprintln!(
            "keygate: error: `{}`: {}",
            crate::quote::path(what),
            crate::quote::controls(message)
        );
    }

    /// A warning that does not change the exit status (a missing git object that
    /// the scan can do without is an error; a skipped large file is not).
    pub fn warn(&self, message: &str) {
        eprintln!("keygate: warning: {}", crate::quote::controls(message));
    }

    pub fn add_file(&self, bytes: u64) {
        self.counters.files.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts a message scanned (commit, tag, pull request); its bytes count too.
    pub fn add_message(&self, bytes: u64) {
        self.counters.messages.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_blob(&self, bytes: u64) {
        self.counters.blobs.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Every finding, sorted by path, line, column and rule, so that output does not
    /// depend on the thread count; and the counters.
    pub fn finish(self, elapsed_ms: u64) -> (Vec<Finding>, Stats) {
        let mut findings = self
            .findings
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        sort_findings(&mut findings);
        let c = &self.counters;
        let stats = Stats {
            files: c.files.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            blobs: c.blobs.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            elapsed_ms,
            suppressed: c.suppressed.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
            baseline_stale: 0,
            archive_members: c.archive_members.load(Ordering::Relaxed),
            archive_limited: c.archive_limited.load(Ordering::Relaxed),
            archive_errors: c.archive_errors.load(Ordering::Relaxed),
        };
        (findings, stats)
    }
}

/// Sorts findings into report order: path, line, column, rule, then commit.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.location.path.clone(),
                f.location.line,
                f.location.column,
                f.rule_id.clone(),
            )
        };
        key(a).cmp(&key(b)).then_with(|| {
            let commit = |f: &Finding| f.commit.as_ref().map(|c| (c.date.clone(), c.id.clone()));
            commit(a).cmp(&commit(b))
        })
    });
}

/// Writes through to a `Write`, for live output.
pub fn live_writer<W: Write + Send + 'static>(
    mut out: W,
    mut line: impl FnMut(&Finding) -> String + Send + 'static,
) -> Live {
    Box::new(move |finding| {
        out.write_all(line(finding).as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    })
}
