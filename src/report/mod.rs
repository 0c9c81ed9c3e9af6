//! Reporters: findings and counts written out for people and for machines.
//!
//! The formats are a closed set ([`Format`]); each has its own module. Every
//! reporter sees the findings already sorted (path, line, column, rule) and redacts
//! secrets unless `--show-secrets`; the SARIF reporter never writes a full secret.

pub mod human;
pub mod json;
pub mod sarif;

use std::io::{self, Write};

use crate::cli::Format;
use crate::collect::Stats;
use crate::finding::Finding;
use crate::rules::RuleSet;
use crate::settings::OutputSettings;

/// What a finished scan hands to a reporter.
pub struct Report<'a> {
    /// Sorted; suppressed findings only when `--include-suppressed`.
    pub findings: &'a [Finding],
    pub stats: Stats,
    pub rules: &'a RuleSet,
    pub output: &'a OutputSettings,
    /// Extra lines for the summary (for instance inline allows a change adds).
    pub notes: &'a [String],
    /// Range scans only: the findings that inline allow comments added by the range
    /// hide, listed for the reviewer (JSON `inline_allows`).
    pub inline_allows: Option<&'a [Finding]>,
}

impl Report<'_> {
    /// The findings that fail the scan.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppression.is_none())
    }
}

/// Writes a whole report in `format`. `jsonl` findings were already streamed as
/// found, one a line, and nothing else belongs in that stream.
pub fn write(format: Format, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, out),
        Format::Json => json::write_document(report, out),
        Format::Jsonl => Ok(()),
        Format::Sarif => sarif::write(report, out),
    }
}
