//! Suppression: findings a user has said are fine.
//!
//! Three mechanisms: an inline comment on the line (`keygate:allow`,
//! `keygate:allow-next-line`, and `gitleaks:allow` for teams that switch), the
//! allowlists of `.keygate.toml` (paths, regexes, literal secrets, and the custom
//! rules' own examples in the file that defines them), and a baseline of
//! fingerprints ([`crate::baseline`]). A finding that several allow is put down to the
//! config first, then the baseline, then the comment (see [`Suppressor::check`]).
//! Suppressed findings are counted, and kept for reporters that can show them (SARIF
//! `suppressions`), but never fail a scan.
//! The collector (`crate::collect`) asks the [`Suppressor`] about every finding.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use globset::GlobSet;
use regex::bytes::Regex;

use crate::baseline::Baseline;
use crate::finding::{Finding, Suppression};

/// Markers that allow the line they stand on: keygate's own, and those of gitleaks
/// and detect-secrets, so that a team can switch without editing its code.
const ALLOW_LINE: &[&[u8]] = &[
    b"keygate:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
];
/// Markers that allow the line after them.
const ALLOW_NEXT_LINE: &[&[u8]] = &[
    b"keygate:allow-next-line",
    b"pragma: allowlist nextline secret",
];

/// True when the line holding byte `at` of `hay`, or an allow-next-line comment on
/// the line before it, allows findings there.
pub fn inline_allowed(hay: &[u8], at: usize) -> bool {
    let at = at.min(hay.len());
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |p| at + p);
    if has_marker(&hay[start..end], ALLOW_LINE) {
        return true;
    }
    if start == 0 {
        return false;
    }
    let prev_start = memchr::memrchr(b'\n', &hay[..start - 1]).map_or(0, |p| p + 1);
    has_marker(&hay[prev_start..start - 1], ALLOW_NEXT_LINE)
}

/// True when `line` holds one of `markers` as a whole word. `keygate:allowed` and
/// `keygate:allow-list` are not allow comments (nor is `keygate:allow-next-line` an
/// allow of its own line): a misspelt marker allows nothing, which fails safe, as
/// the finding is still reported.
fn has_marker(line: &[u8], markers: &[&[u8]]) -> bool {
    markers.iter().any(|marker| {
        memchr::memmem::find_iter(line, marker).any(|p| {
            line.get(p + marker.len())
                .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        })
    })
}

/// `[allow] paths` of a config, with what its globs and the findings' paths are
/// relative to.
#[derive(Debug)]
pub struct PathAllowlist {
    globs: GlobSet,
    /// The config's folder, which the globs are relative to. `None` for a config read
    /// from a commit: findings then carry repository-relative paths, matched as they are.
    root: Option<PathBuf>,
    /// The folder that relative finding paths are relative to: the current folder, or
    /// the repository root for git sources.
    base: PathBuf,
}

impl PathAllowlist {
    pub fn new(globs: GlobSet, root: Option<PathBuf>, base: &Path) -> PathAllowlist {
        PathAllowlist {
            globs,
            root: root.map(|r| canonical(&r)),
            base: canonical(base),
        }
    }

    /// True when `path`, as findings show it, is allowed. It is matched relative to
    /// the config's folder; a path outside that folder is matched as shown, so that
    /// `**/…` globs of a config given with `--config` still apply.
    pub fn allows(&self, path: &str) -> bool {
        let shown = Path::new(path);
        let plain = shown.strip_prefix(".").unwrap_or(shown);
        if let Some(root) = &self.root {
            let full = normalize(&self.base.join(plain));
            if let Ok(relative) = full.strip_prefix(root) {
                return self.globs.is_match(relative);
            }
        }
        self.globs.is_match(plain)
    }
}

/// The custom rules' `examples` and `negative_examples`, allowed in the config file
/// that defines them: a rule must carry examples of what it finds, and the file that
/// holds them must not be a finding itself (it would block its own commit).
///
/// Only those texts, and only in that file: an example's key in any other file, and a
/// key in the config that no example holds, are still reported. (The example's text
/// written a second time in the config, say in a comment, is allowed too: it holds
/// nothing the example does not already show.) For a merge check the config, and so the
/// examples, are the base commit's, so a change cannot allow its own key by adding a
/// rule with the key as its example.
#[derive(Debug)]
pub struct RuleExamples {
    /// The config file: absolute for a file on disk, repository-relative for one read
    /// from a commit.
    file: PathBuf,
    /// What relative finding paths are relative to (see [`PathAllowlist`]); `None`
    /// when `file` is repository-relative, as git findings' paths are.
    base: Option<PathBuf>,
    /// The examples as the rules hold them, TOML escapes undone.
    texts: Vec<String>,
}

impl RuleExamples {
    /// `file` is the config's path (absolute, or repository-relative when `base` is
    /// `None`); `texts` the examples of its custom rules.
    pub fn new(file: &Path, base: Option<&Path>, texts: Vec<String>) -> RuleExamples {
        RuleExamples {
            file: match base {
                Some(_) => canonical(file),
                None => file.to_path_buf(),
            },
            base: base.map(canonical),
            texts,
        }
    }

    /// True when a finding of `secret` in `path` lies in one of the examples. The
    /// scanned bytes are the TOML source, where a multi-line example (a private key) is
    /// written with `\n` escapes; the secret is tried as written and unescaped.
    pub fn allows(&self, path: &str, secret: &str) -> bool {
        let shown = Path::new(path);
        let plain = shown.strip_prefix(".").unwrap_or(shown);
        let same_file = match &self.base {
            Some(base) => normalize(&base.join(plain)) == self.file,
            None => normalize(plain) == normalize(&self.file),
        };
        if !same_file || secret.is_empty() {
            return false;
        }
        let unescaped = toml_unescape(secret);
        self.texts
            .iter()
            .any(|text| text.contains(secret) || text.contains(unescaped.as_str()))
    }
}

/// `text` with the escapes of a TOML basic string undone (`\n`, `\"`, `\\`,
/// `\uXXXX`, ...); an escape that is not one is kept as written.
fn toml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let rest = chars.as_str();
        let (decoded, used) = match rest.chars().next() {
            Some('n') => (Some('\n'), 1),
            Some('t') => (Some('\t'), 1),
            Some('r') => (Some('\r'), 1),
            Some('b') => (Some('\u{8}'), 1),
            Some('f') => (Some('\u{c}'), 1),
            Some('e') => (Some('\u{1b}'), 1),
            Some('"') => (Some('"'), 1),
            Some('\\') => (Some('\\'), 1),
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let code = rest
                    .get(1..=n)
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                (code, n + 1)
            }
            _ => (None, 0),
        };
        match decoded {
            Some(d) => {
                out.push(d);
                chars = rest[used..].chars();
            }
            None => out.push(c),
        }
    }
    out
}

/// The real path where it exists, else the absolute one, so that a folder reached
/// through a symbolic link compares equal to itself.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The allowlists and baseline in force for one scan.
#[derive(Debug, Default)]
pub struct Suppressor {
    /// Paths whose findings are allowed (config `[allow] paths`).
    pub paths: Option<PathAllowlist>,
    /// Regexes that allow a secret they match (config `[allow] regexes`).
    pub regexes: Vec<Regex>,
    /// Literal secrets that are allowed (config `[allow] secrets`).
    pub secrets: HashSet<String>,
    /// Fingerprints of accepted findings (`--baseline`).
    pub baseline: Option<Baseline>,
    /// The custom rules' own examples, in the config file that defines them.
    pub rule_examples: Option<RuleExamples>,
}

impl Suppressor {
    /// True when no finding in `path` can be reported, so the source may skip it.
    pub fn path_allowed(&self, path: &str) -> bool {
        self.paths.as_ref().is_some_and(|p| p.allows(path))
    }

    /// Why `finding` is suppressed, if it is. An inline allow was already recorded
    /// by the source, which saw the line. The config and the baseline come first: a
    /// finding they allow is reported as theirs even when an inline comment allows it
    /// too, so that the inline allows a range scan lists for its reviewer are only
    /// those that alone hide a finding.
    pub fn check(&self, finding: &Finding) -> Option<Suppression> {
        // Looked up whatever else allows the finding, so that the baseline knows
        // which of its entries still match something (stale entries).
        let in_baseline = self
            .baseline
            .as_ref()
            .is_some_and(|b| b.check(&finding.fingerprint));
        let member_allowed = || {
            finding
                .location
                .member
                .as_deref()
                .and_then(|m| m.rsplit('!').next())
                .is_some_and(|inner| self.path_allowed(inner))
                || (finding.location.member.is_some() && self.path_allowed(finding.location.file()))
        };
        // `[allow] paths` names files: a message is none, and a glob such as `**`
        // must not hide the keys people paste into commit messages.
        let in_file = finding.message.is_none();
        let path_allowed = || {
            self.path_allowed(&finding.location.path)
                || member_allowed()
                || self
                    .rule_examples
                    .as_ref()
                    .is_some_and(|e| e.allows(&finding.location.path, &finding.secret))
        };
        if (in_file && path_allowed())
            || self.secrets.contains(&finding.secret)
            || self
                .regexes
                .iter()
                .any(|re| re.is_match(finding.secret.as_bytes()))
        {
            return Some(Suppression::Config);
        }
        if in_baseline {
            return Some(Suppression::Baseline);
        }
        finding.suppression
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use globset::GlobSetBuilder;

    fn allowed(text: &str, needle: &str) -> bool {
        inline_allowed(text.as_bytes(), text.find(needle).unwrap())
    }

    /// `keygate:allow` and `gitleaks:allow` work in any comment syntax, on their own line only.
    #[test]
    fn allow_comments_in_any_syntax() {
        assert!(allowed("k = 'SECRET' # keygate:allow\n", "SECRET"));
        assert!(allowed("k = 'SECRET'; // gitleaks:allow", "SECRET"));
        assert!(allowed("<!-- keygate:allow --> SECRET", "SECRET"));
        assert!(allowed(
            "k = 'SECRET' /* keygate:allow: test key */",
            "SECRET"
        ));
        assert!(allowed("a\r\nk: SECRET # keygate:allow\r\nb", "SECRET"));
        assert!(!allowed("k = 'SECRET'\n# keygate:allow\n", "SECRET"));
    }

    /// `keygate:allow-next-line` allows the next line, not its own or any later one.
    #[test]
    fn allow_next_line_allows_only_the_next_line() {
        let text = "# keygate:allow-next-line\nk = 'SECRET'\nj = 'OTHER'\n";
        assert!(allowed(text, "SECRET"));
        assert!(!allowed(text, "OTHER"));
        assert!(!allowed("x # keygate:allow-next-line SECRET\n", "SECRET"));
        assert!(allowed(
            "-- keygate:allow-next-line\r\nk = 'SECRET'\r\n",
            "SECRET"
        ));
    }

    /// detect-secrets' pragmas work too, for teams that come from it.
    #[test]
    fn detect_secrets_pragmas_are_honoured() {
        assert!(allowed(
            "k = 'SECRET'  # pragma: allowlist secret\n",
            "SECRET"
        ));
        let text = "# pragma: allowlist nextline secret\nk = 'SECRET'\nj = 'OTHER'\n";
        assert!(allowed(text, "SECRET"));
        assert!(!allowed(text, "OTHER"));
    }

    /// Markers glued to other word characters allow nothing.
    #[test]
    fn markers_must_be_whole_words() {
        assert!(!allowed("k = 'SECRET' # keygate:allowed\n", "SECRET"));
        assert!(!allowed("k = 'SECRET' # keygate:allow-list\n", "SECRET"));
        assert!(!allowed(
            "# keygate:allow-next-lines\nk = 'SECRET'\n",
            "SECRET"
        ));
        assert!(!allowed("k = 'SECRET' # xgitleaks:allowx\n", "SECRET"));
    }

    /// TOML escapes are undone as TOML reads them; anything else is kept.
    #[test]
    fn toml_escapes_are_undone() {
        assert_eq!(toml_unescape(r#"a\nb\\n\u0041\q\"x"#), "a\nb\\nA\\q\"x");
        assert_eq!(toml_unescape(r"\u00"), r"\u00");
    }

    /// Examples are allowed in the config file only, written plainly or escaped.
    #[test]
    fn rule_examples_are_allowed_in_their_config_only() {
        let examples = RuleExamples::new(
            Path::new("/repo/.keygate.toml"),
            Some(Path::new("/repo")),
            vec!["KEY=acme_123".into(), "-----BEGIN X-----\nabc".into()],
        );
        assert!(examples.allows(".keygate.toml", "acme_123"));
        assert!(examples.allows("/repo/.keygate.toml", r"-----BEGIN X-----\nabc"));
        assert!(!examples.allows("app.env", "acme_123"));
        assert!(!examples.allows(".keygate.toml", "acme_999"));
        let from_commit = RuleExamples::new(Path::new(".keygate.toml"), None, vec!["x1".into()]);
        assert!(from_commit.allows(".keygate.toml", "x1"));
        assert!(!from_commit.allows("sub/.keygate.toml", "x1"));
    }

    fn allowlist(globs: &[&str], root: &str, base: &str) -> PathAllowlist {
        let mut set = GlobSetBuilder::new();
        for g in globs {
            set.add(
                globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .unwrap(),
            );
        }
        PathAllowlist {
            globs: set.build().unwrap(),
            root: (!root.is_empty()).then(|| PathBuf::from(root)),
            base: PathBuf::from(base),
        }
    }

    /// Path globs match relative to the config folder, whatever the current folder.
    #[test]
    fn path_globs_are_relative_to_the_config_folder() {
        let list = allowlist(&["fixtures/**"], "/repo", "/repo/src");
        assert!(list.allows("../fixtures/a.txt"));
        assert!(!list.allows("fixtures/a.txt"), "that is /repo/src/fixtures");
        assert!(list.allows("/repo/fixtures/deep/b.txt"));
        let list = allowlist(&["fixtures/**"], "/repo", "/repo");
        assert!(list.allows("./fixtures/a.txt"));
        assert!(list.allows("fixtures/a.txt"));
        assert!(!list.allows("src/fixtures/a.txt"));
    }

    /// Paths outside the config folder, or from a config read from a commit, match as shown.
    #[test]
    fn paths_outside_the_config_folder_match_as_shown() {
        let list = allowlist(&["**/*.pem"], "/home/me", "/tmp/work");
        assert!(list.allows("keys/a.pem"));
        let from_commit = allowlist(&["fixtures/**"], "", "/anywhere");
        assert!(from_commit.allows("fixtures/x.env"));
        assert!(!from_commit.allows("src/x.env"));
    }
}
