//! JSON output, version 1 (shared/DESIGN.md "JSON output"), and JSON Lines.
//!
//! `json` is one document with `version`, `findings` and `stats`; `jsonl` is one
//! finding object a line, written as each is found. Both hold the redacted secret;
//! the full secret only with `--show-secrets`.

use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::collect::Stats;
use crate::decode::Layer;
use crate::finding::{CommitInfo, Finding, Suppression, TagInfo, Validation};
use crate::rules::Severity;

/// A finding as JSON shows it.
#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub rule_id: &'a str,
    pub rule_name: &'a str,
    pub severity: Severity,
    /// `message` for a secret in a commit, tag or pull request message rather than
    /// in a file (absent for files); `message` then says which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// The annotated tag whose message holds the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a TagInfo>,
    pub path: &'a str,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub secret_redacted: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<&'a str>,
    pub fingerprint: &'a str,
    pub entropy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<&'a CommitInfo>,
    /// The encodings the secret was found under, outermost first (absent for a
    /// secret written as it is).
    #[serde(skip_serializing_if = "<[Layer]>::is_empty")]
    pub decoded: &'a [Layer],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// What the provider said (`--validate` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<&'a Validation>,
}

impl<'a> JsonFinding<'a> {
    pub fn new(f: &'a Finding, show_secrets: bool) -> Self {
        JsonFinding {
            rule_id: &f.rule_id,
            rule_name: &f.rule_name,
            severity: f.severity,
            origin: f.message.as_ref().map(|_| "message"),
            message: f.message.as_ref().map(|m| m.kind()),
            tag: f.message.as_ref().and_then(|m| m.tag()),
            path: &f.location.path,
            line: f.location.line,
            column: f.location.column,
            end_line: f.location.end_line,
            end_column: f.location.end_column,
            secret_redacted: f.redacted(),
            secret: show_secrets.then_some(f.secret.as_str()),
            fingerprint: &f.fingerprint,
            entropy: f.entropy,
            revoke_url: f.revoke_url.as_deref(),
            commit: f.commit.as_deref(),
            decoded: &f.decoded,
            suppression: f.suppression,
            validation: f.validation.as_ref(),
        }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    /// Range scans only: findings hidden by inline allows that the range adds.
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_allows: Option<Vec<JsonFinding<'a>>>,
    stats: Stats,
}

/// The whole JSON document.
pub fn write_document(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        version: 1,
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding::new(f, report.output.show_secrets))
            .collect(),
        inline_allows: report.inline_allows.map(|allows| {
            allows
                .iter()
                .map(|f| JsonFinding::new(f, report.output.show_secrets))
                .collect()
        }),
        stats: report.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")
}

/// One finding as a JSON Lines line (without the newline).
pub fn line(finding: &Finding, show_secrets: bool) -> String {
    serde_json::to_string(&JsonFinding::new(finding, show_secrets))
        .expect("a finding of strings and numbers always serialises")
}
