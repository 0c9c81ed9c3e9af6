//! Baselines: findings a team has accepted, recorded by fingerprint.
//!
//! A baseline is a small JSON file, one entry a line, sorted, so that its diffs stay
//! small in review. Entries hold the content-based fingerprint (never the secret) and
//! the rule id, so that a baseline survives moved and reformatted code.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub fingerprint: String,
    pub rule_id: String,
}

/// The file as written.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub version: u32,
    pub entries: Vec<Entry>,
}

/// A baseline that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("baseline `{path}`: {message}")]
pub struct BaselineError {
    pub path: String,
    pub message: String,
}

/// Reads a baseline's entries.
pub fn read(path: &Path) -> Result<Vec<Entry>, BaselineError> {
    let error = |message: String| BaselineError {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    let file: BaselineFile =
        serde_json::from_str(&text).map_err(|e| error(format!("not a keygate baseline: {e}")))?;
    if file.version != 1 {
        return Err(error(format!(
            "version {} is not supported (1 is)",
            file.version
        )));
    }
    Ok(file.entries)
}

/// The fingerprints of a baseline.
pub fn load(path: &Path) -> Result<HashSet<String>, BaselineError> {
    Ok(read(path)?.into_iter().map(|e| e.fingerprint).collect())
}

/// The baseline text for `findings`: sorted, deduplicated, one entry a line.
pub fn render(findings: &[Finding]) -> String {
    let entries: BTreeMap<(String, String), ()> = findings
        .iter()
        .map(|f| ((f.rule_id.clone(), f.fingerprint.clone()), ()))
        .collect();
    render_entries(entries.into_keys().map(|(rule_id, fingerprint)| Entry {
        fingerprint,
        rule_id,
    }))
}

/// Renders entries, one a line, in the order given.
pub fn render_entries(entries: impl Iterator<Item = Entry>) -> String {
    let mut out = String::from("{\n  \"version\": 1,\n  \"entries\": [\n");
    let lines: Vec<String> = entries
        .map(|e| {
            format!(
                "    {}",
                serde_json::to_string(&e).expect("an entry of strings always serialises")
            )
        })
        .collect();
    out.push_str(&lines.join(",\n"));
    if !lines.is_empty() {
        out.push('\n');
    }
    out.push_str("  ]\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_baselines_read_back() {
        let text = render_entries(
            vec![Entry {
                fingerprint: "ab".into(),
                rule_id: "x.y".into(),
            }]
            .into_iter(),
        );
        let file: BaselineFile = serde_json::from_str(&text).unwrap();
        assert_eq!(file.entries.len(), 1);
        assert_eq!(text.lines().count(), 6);
        let empty: BaselineFile =
            serde_json::from_str(&render_entries(std::iter::empty())).unwrap();
        assert!(empty.entries.is_empty());
    }
}
