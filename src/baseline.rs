//! Baselines: findings a team has accepted, recorded by fingerprint.
//!
//! A baseline is a small JSON file, one entry a line, sorted by rule and
//! fingerprint, so that its diffs stay small in review. Entries hold the content-based
//! fingerprint (`sha256(rule_id ":" secret)`, never the secret) and the rule id, and
//! no path or line: an entry survives moved and reformatted code. A [`Baseline`] in
//! force remembers which of its entries matched a finding, so that a scan can report
//! the stale ones and `keygate baseline --prune` can drop them.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// The file name the human report suggests.
pub const BASELINE_FILE: &str = ".keygate-baseline.json";

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub rule_id: String,
    pub fingerprint: String,
}

impl Entry {
    pub fn of(finding: &Finding) -> Entry {
        Entry {
            rule_id: finding.rule_id.clone(),
            fingerprint: finding.fingerprint.clone(),
        }
    }
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

/// A baseline in force: its entries, and which of them matched a finding so far.
/// Shared by every scanning thread.
#[derive(Debug)]
pub struct Baseline {
    /// How messages name it: its path, or `REV:path` for one read from a commit.
    pub name: String,
    entries: Vec<Entry>,
    by_fingerprint: HashMap<String, usize>,
    hits: Vec<AtomicBool>,
}

/// What a scan did with a baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub name: String,
    /// Entries that matched at least one finding.
    pub matched: Vec<Entry>,
    /// Entries that matched nothing: candidates for `keygate baseline --prune`.
    pub stale: Vec<Entry>,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError {
            path: name.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        Baseline::parse(&text, name)
    }

    /// Parses baseline text that came from `name`.
    pub fn parse(text: &str, name: String) -> Result<Baseline, BaselineError> {
        let error = |message: String| BaselineError {
            path: name.clone(),
            message,
        };
        let file: BaselineFile = serde_json::from_str(text)
            .map_err(|e| error(format!("not a keygate baseline: {e}")))?;
        if file.version != 1 {
            return Err(error(format!(
                "version {} is not supported (1 is)",
                file.version
            )));
        }
        Ok(Baseline::new(name, file.entries))
    }

    pub fn new(name: String, entries: Vec<Entry>) -> Baseline {
        let entries: Vec<Entry> = entries
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let by_fingerprint = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.fingerprint.clone(), i))
            .collect();
        let hits = entries.iter().map(|_| AtomicBool::new(false)).collect();
        Baseline {
            name,
            entries,
            by_fingerprint,
            hits,
        }
    }

    /// True when `fingerprint` is accepted; remembers that its entry matched.
    pub fn check(&self, fingerprint: &str) -> bool {
        match self.by_fingerprint.get(fingerprint) {
            Some(&i) => {
                self.hits[i].store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Which entries matched and which did not, so far.
    pub fn usage(&self) -> Usage {
        let (matched, stale): (Vec<_>, Vec<_>) = self
            .entries
            .iter()
            .zip(&self.hits)
            .partition(|(_, hit)| hit.load(Ordering::Relaxed));
        Usage {
            name: self.name.clone(),
            matched: matched.into_iter().map(|(e, _)| e.clone()).collect(),
            stale: stale.into_iter().map(|(e, _)| e.clone()).collect(),
        }
    }
}

/// The baseline text for `findings`: sorted, deduplicated, one entry a line.
pub fn render(findings: &[Finding]) -> String {
    render_entries(findings.iter().map(Entry::of))
}

/// Renders entries sorted by rule and fingerprint, without duplicates, one a line:
/// the same set of entries always gives the same bytes.
pub fn render_entries(entries: impl IntoIterator<Item = Entry>) -> String {
    let entries: BTreeSet<Entry> = entries.into_iter().collect();
    let mut out = String::from("{\n  \"version\": 1,\n  \"entries\": [\n");
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "    {}",
                serde_json::to_string(e).expect("an entry of strings always serialises")
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

    fn entry(rule: &str, fp: &str) -> Entry {
        Entry {
            rule_id: rule.into(),
            fingerprint: fp.into(),
        }
    }

    /// A rendered baseline has one entry a line and reads back to the same entries.
    #[test]
    fn rendered_baselines_read_back() {
        let text = render_entries(vec![entry("x.y", "ab")]);
        assert_eq!(
            text,
            "{\n  \"version\": 1,\n  \"entries\": [\n    {\"rule_id\":\"x.y\",\"fingerprint\":\"ab\"}\n  ]\n}\n"
        );
        let baseline = Baseline::parse(&text, "b.json".into()).unwrap();
        assert_eq!(baseline.entries(), [entry("x.y", "ab")]);
        let empty = Baseline::parse(&render_entries(Vec::new()), "e".into()).unwrap();
        assert!(empty.is_empty());
    }

    /// The same entries in any order and with repeats give the same bytes, sorted by rule.
    #[test]
    fn rendering_is_sorted_and_deduplicated_whatever_the_input_order() {
        let a = render_entries(vec![entry("b", "2"), entry("a", "9"), entry("b", "1")]);
        let b = render_entries(vec![
            entry("b", "1"),
            entry("b", "2"),
            entry("a", "9"),
            entry("b", "1"),
        ]);
        assert_eq!(a, b);
        let order: Vec<&str> = a.lines().filter(|l| l.contains("rule_id")).collect();
        assert!(
            order[0].contains("\"a\"") && order[2].contains("\"2\""),
            "{a}"
        );
    }

    /// Entries that matched a finding and entries that matched none are told apart.
    #[test]
    fn usage_splits_matched_from_stale() {
        let baseline = Baseline::new("b".into(), vec![entry("r", "1"), entry("r", "2")]);
        assert!(baseline.check("2"));
        assert!(!baseline.check("3"));
        let usage = baseline.usage();
        assert_eq!(usage.matched, [entry("r", "2")]);
        assert_eq!(usage.stale, [entry("r", "1")]);
    }

    /// A file of another version or shape is refused, naming the file.
    #[test]
    fn bad_files_are_named() {
        let err =
            Baseline::parse("{\"version\": 2, \"entries\": []}", "b.json".into()).unwrap_err();
        assert!(err.to_string().contains("`b.json`"), "{err}");
        let err = Baseline::parse("[1, 2]", "b.json".into()).unwrap_err();
        assert!(err.to_string().contains("not a keygate baseline"), "{err}");
    }
}
