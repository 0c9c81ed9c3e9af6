//! Suppression: findings a user has said are fine.
//!
//! Three mechanisms, checked in this order: an inline comment on the line
//! (`keygate:allow`, `keygate:allow-next-line`, and `gitleaks:allow` for teams that
//! switch), the allowlists of `.keygate.toml` (paths, regexes, literal secrets), and a
//! baseline of fingerprints. Suppressed findings are counted, and kept for reporters
//! that can show them (SARIF `suppressions`), but never fail a scan.

use std::collections::HashSet;
use std::path::PathBuf;

use globset::GlobSet;
use regex::bytes::Regex;

use crate::finding::{Finding, Suppression};

/// Markers that allow the line they stand on.
const ALLOW_LINE: &[&[u8]] = &[b"keygate:allow", b"gitleaks:allow"];
/// Marker that allows the line after it.
const ALLOW_NEXT_LINE: &[u8] = b"keygate:allow-next-line";

/// True when the line holding byte `at` of `hay`, or an `allow-next-line` comment on
/// the line before it, allows findings there.
pub fn inline_allowed(hay: &[u8], at: usize) -> bool {
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |p| at + p);
    let line = &hay[start..end];
    // `keygate:allow-next-line` contains `keygate:allow`: on its own line it allows
    // the next line, not itself.
    let allows_itself = ALLOW_LINE.iter().any(|marker| {
        memchr::memmem::find_iter(line, marker).any(|p| !line[p..].starts_with(ALLOW_NEXT_LINE))
    });
    if allows_itself {
        return true;
    }
    if start == 0 {
        return false;
    }
    let prev_start = memchr::memrchr(b'\n', &hay[..start - 1]).map_or(0, |p| p + 1);
    memchr::memmem::find(&hay[prev_start..start - 1], ALLOW_NEXT_LINE).is_some()
}

/// The allowlists and baseline in force for one scan.
#[derive(Debug, Default)]
pub struct Suppressor {
    /// Paths whose findings are allowed (config `[allow] paths`).
    pub paths: Option<GlobSet>,
    /// The absolute folder that `paths` globs are relative to (the config's folder).
    pub paths_root: Option<PathBuf>,
    /// Regexes that allow a secret they match (config `[allow] regexes`).
    pub regexes: Vec<Regex>,
    /// Literal secrets that are allowed (config `[allow] secrets`).
    pub secrets: HashSet<String>,
    /// Fingerprints of accepted findings (`--baseline`).
    pub baseline: HashSet<String>,
}

impl Suppressor {
    /// True when no finding in `path` can be reported, so the source may skip it.
    ///
    /// `path` is as findings show it: relative to the current folder, to the
    /// repository root (git sources), or absolute. The globs see it as given (less a
    /// leading `./`) and relative to the config's folder.
    pub fn path_allowed(&self, path: &str) -> bool {
        let Some(set) = &self.paths else {
            return false;
        };
        let plain = path.strip_prefix("./").unwrap_or(path);
        if set.is_match(plain) {
            return true;
        }
        let Some(root) = &self.paths_root else {
            return false;
        };
        let absolute = std::env::current_dir()
            .map(|cwd| cwd.join(plain))
            .unwrap_or_else(|_| PathBuf::from(plain));
        absolute
            .strip_prefix(root)
            .is_ok_and(|relative| set.is_match(relative))
    }

    /// Why `finding` is suppressed, if it is. An inline allow was already recorded
    /// by the source, which saw the line.
    pub fn check(&self, finding: &Finding) -> Option<Suppression> {
        if finding.suppression.is_some() {
            return finding.suppression;
        }
        if self.path_allowed(&finding.location.path)
            || self.secrets.contains(&finding.secret)
            || self
                .regexes
                .iter()
                .any(|re| re.is_match(finding.secret.as_bytes()))
        {
            return Some(Suppression::Config);
        }
        if self.baseline.contains(&finding.fingerprint) {
            return Some(Suppression::Baseline);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::inline_allowed;

    fn allowed(text: &str, needle: &str) -> bool {
        inline_allowed(text.as_bytes(), text.find(needle).unwrap())
    }

    #[test]
    fn allow_comments_in_any_syntax() {
        assert!(allowed("k = 'SECRET' # keygate:allow\n", "SECRET"));
        assert!(allowed("k = 'SECRET'; // gitleaks:allow", "SECRET"));
        assert!(allowed("<!-- keygate:allow --> SECRET", "SECRET"));
        assert!(!allowed("k = 'SECRET'\n# keygate:allow\n", "SECRET"));
    }

    #[test]
    fn allow_next_line_allows_only_the_next_line() {
        let text = "# keygate:allow-next-line\nk = 'SECRET'\nj = 'OTHER'\n";
        assert!(allowed(text, "SECRET"));
        assert!(!allowed(text, "OTHER"));
        assert!(!allowed("x # keygate:allow-next-line SECRET\n", "SECRET"));
    }
}
