//! Findings: an engine match placed in its file, line and commit.
//!
//! A source hands the bytes it scanned and where they came from; this module turns
//! each [`crate::engine::Match`] into a [`Finding`] with a 1-based location, a
//! content-based fingerprint and a redacted form of the secret. Suppression
//! (`crate::suppress`) and the reporters (`crate::report`) work on findings only.

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::decode::Layer;
use crate::rules::{Rule, Severity};

/// The commit that introduced a finding, for git history and range scans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    /// RFC 3339.
    pub date: String,
    pub summary: String,
}

/// An annotated tag whose message holds a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    /// The tag's name, without `refs/tags/`.
    pub name: String,
    /// The tag object's id.
    pub id: String,
}

/// Text that is not a file: a message that git or GitHub keeps beside the code. A
/// finding in one has the message's [`MessageOf::path`] for its path, and lines and
/// columns inside the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageOf {
    /// A commit's message (or, for `--commit-msg`, the message of the commit being
    /// made).
    Commit,
    /// An annotated tag's message; the finding's commit is the one it tags.
    Tag(Arc<TagInfo>),
    /// A pull request's title, from the Action's event payload.
    PullRequestTitle,
    /// A pull request's description.
    PullRequestBody,
}

impl MessageOf {
    /// The path findings in such a message show: no file can be named so in a
    /// report, as a path that starts with `<` is not one git or a folder scan gives
    /// unquoted.
    pub fn path(&self) -> &'static str {
        match self {
            MessageOf::Commit => "<commit message>",
            MessageOf::Tag(_) => "<tag message>",
            MessageOf::PullRequestTitle => "<pull request title>",
            MessageOf::PullRequestBody => "<pull request body>",
        }
    }

    /// The kind as JSON and SARIF name it.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageOf::Commit => "commit",
            MessageOf::Tag(_) => "tag",
            MessageOf::PullRequestTitle => "pull_request_title",
            MessageOf::PullRequestBody => "pull_request_body",
        }
    }

    /// How a sentence names it: `the message of`, `the pull request body`.
    pub fn describe(&self) -> &'static str {
        match self {
            MessageOf::Commit => "a commit message",
            MessageOf::Tag(_) => "a tag message",
            MessageOf::PullRequestTitle => "the pull request title",
            MessageOf::PullRequestBody => "the pull request body",
        }
    }

    pub fn tag(&self) -> Option<&TagInfo> {
        match self {
            MessageOf::Tag(tag) => Some(tag),
            _ => None,
        }
    }
}

/// Where a finding sits. Lines and columns are 1-based; columns count characters
/// (Unicode code points, or bytes where the text is not UTF-8); `end_column` is the
/// column just past the secret, as in SARIF regions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    /// Byte offsets of the secret (or of its encoded form) in the content.
    pub start_byte: u64,
    pub end_byte: u64,
    /// For a secret inside an archive: the member's place below the archive
    /// (`release/bundle.zip!deploy/.env`); `path` then ends with `!` and this, and
    /// lines, columns and offsets are the member's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl Location {
    /// The file that holds the finding: the outermost archive for a member.
    pub fn file(&self) -> &str {
        match &self.member {
            Some(member) => self
                .path
                .strip_suffix(member.as_str())
                .and_then(|p| p.strip_suffix('!'))
                .unwrap_or(&self.path),
            None => &self.path,
        }
    }
}

/// Why a finding is not reported as a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// A `keygate:allow` (or `gitleaks:allow`) comment on the line.
    Inline,
    /// The fingerprint is in the baseline file.
    Baseline,
    /// An allowlist of the configuration file.
    Config,
}

/// What a key's provider said of it (`--validate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The provider accepted the key.
    Live,
    /// The provider does not know the key.
    Invalid,
    /// The provider says the key was revoked or has expired.
    Revoked,
    /// No answer could be had: no check for this rule, a rate limit, a server error,
    /// a timeout or a network failure.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Invalid => "invalid",
            Status::Revoked => "revoked",
            Status::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to one validation: a status and a short reason, which never holds the
/// secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub status: Status,
    pub detail: String,
}

/// One secret found in one place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub location: Location,
    /// The secret, lossily decoded as UTF-8. Reporters print it only when asked.
    pub secret: String,
    pub fingerprint: String,
    pub entropy: f64,
    pub revoke_url: Option<String>,
    pub commit: Option<Arc<CommitInfo>>,
    /// The line that holds the secret, cut to a readable length, secret redacted.
    pub context: String,
    pub suppression: Option<Suppression>,
    /// The encodings the secret was found under, outermost first; empty for a
    /// secret written as it is.
    pub decoded: Vec<Layer>,
    /// What the provider said of the key; `None` without `--validate`.
    pub validation: Option<Validation>,
    /// The message that holds the secret, when it is in one rather than in a file.
    #[serde(skip)]
    pub message: Option<MessageOf>,
}

impl Finding {
    /// The secret as it may be shown: see [`redact`].
    pub fn redacted(&self) -> String {
        redact(&self.secret)
    }
}

/// Place of a scanned piece inside the whole content it belongs to, so that a file
/// scanned in chunks gets the same locations as a file scanned whole.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// Byte offset of the piece's first byte in the whole content.
    pub offset: u64,
    /// Line number of the piece's first byte.
    pub line: u64,
    /// Characters on that line before the piece's first byte.
    pub column_carry: u64,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            offset: 0,
            line: 1,
            column_carry: 0,
        }
    }
}

/// `text` with each of `secrets` redacted wherever it stands, longer ones first, so
/// that a secret holding another is redacted whole.
pub fn redact_all<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut secrets: Vec<&str> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, &redact(secret));
        }
    }
    out
}

/// The first twelve hex digits of an object id, as keygate shows commits and tags.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Builds a finding for `secret`, which stands at `span` of `hay`: written there as
/// it is, or encoded (then `span` is the encoded text, and `secret` what it decodes
/// to).
pub fn build(
    rule: &Rule,
    hay: &[u8],
    span: Range<usize>,
    secret: &[u8],
    entropy: f64,
    path: &str,
    origin: Origin,
) -> Finding {
    let (line, column) = line_column(hay, span.start, origin);
    let (end_line, end_column) = line_column(hay, span.end, origin);
    let text = String::from_utf8_lossy(secret).into_owned();
    Finding {
        rule_id: rule.syntax.id.clone(),
        rule_name: rule.syntax.name.clone(),
        severity: rule.syntax.severity,
        location: Location {
            path: path.to_string(),
            line,
            column,
            end_line,
            end_column,
            start_byte: origin.offset + span.start as u64,
            end_byte: origin.offset + span.end as u64,
            member: None,
        },
        fingerprint: fingerprint(&rule.syntax.id, &text),
        context: context_line(hay, span, &text),
        secret: text,
        entropy: (entropy * 100.0).round() / 100.0,
        revoke_url: rule.syntax.revoke_url.clone(),
        commit: None,
        suppression: None,
        decoded: Vec::new(),
        validation: None,
        message: None,
    }
}

/// `sha256(rule_id ":" secret)` in hex: stable across moves and reformatting, and it
/// does not reveal the secret.
pub fn fingerprint(rule_id: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update(b":");
    hasher.update(secret.as_bytes());
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).expect("a nibble is a hex digit"));
        hex.push(char::from_digit(u32::from(byte & 15), 16).expect("a nibble is a hex digit"));
    }
    hex
}

/// A secret as it may be shown without `--show-secrets`: its first 8 characters, `…`
/// and its last 2, fewer of each for secrets under 24 characters so that well under
/// half of a short secret shows.
/// Line breaks and other control characters are never shown.
pub fn redact(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().filter(|c| !c.is_control()).collect();
    let head = 8.min(chars.len() / 3);
    let tail = 2.min(chars.len() / 8);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// 1-based line and column of byte `at` of `hay`.
fn line_column(hay: &[u8], at: usize, origin: Origin) -> (u64, u64) {
    let before = &hay[..at];
    let newlines = memchr::memchr_iter(b'\n', before).count() as u64;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    let chars = count_chars(&before[line_start..]);
    let carry = if newlines == 0 {
        origin.column_carry
    } else {
        0
    };
    (origin.line + newlines, carry + chars + 1)
}

/// Characters in `bytes`: UTF-8 lead bytes, and each byte of invalid sequences.
pub fn count_chars(bytes: &[u8]) -> u64 {
    // Counting the bytes that are not continuation bytes is right for valid UTF-8
    // only: a stray continuation byte in binary content, or a cut sequence, would
    // count as nothing and shift every later column.
    bytes
        .utf8_chunks()
        .map(|chunk| chunk.valid().chars().count() + chunk.invalid().len())
        .sum::<usize>() as u64
}

/// Longest context line shown, in characters.
const CONTEXT_CHARS: usize = 160;

/// The line holding the secret, with the secret redacted and the line cut around it.
fn context_line(hay: &[u8], secret: Range<usize>, text: &str) -> String {
    // Look no further than the context can show (at most 4 bytes a character), so
    // that a line of many megabytes (minified code, a dump) costs no more than a
    // short one.
    let reach = CONTEXT_CHARS * 4;
    let floor = secret.start.saturating_sub(reach);
    let ceiling = secret.end.saturating_add(reach).min(hay.len());
    let start = memchr::memrchr(b'\n', &hay[floor..secret.start]).map_or(floor, |p| floor + p + 1);
    let end = memchr::memchr(b'\n', &hay[secret.end..ceiling]).map_or(ceiling, |p| secret.end + p);
    let before = String::from_utf8_lossy(&hay[start..secret.start]);
    let after = String::from_utf8_lossy(&hay[secret.end..end]);
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let before: Vec<char> = clean(&before).chars().collect();
    let after: Vec<char> = clean(&after).chars().collect();
    let room = CONTEXT_CHARS / 2;
    let mut out = String::new();
    if before.len() > room {
        out.push('…');
        out.extend(&before[before.len() - room..]);
    } else {
        out.extend(&before);
    }
    let first_line = text.lines().next().unwrap_or_default();
    out.push_str(&redact(first_line));
    if after.len() > room {
        out.extend(&after[..room]);
        out.push('…');
    } else {
        out.extend(&after);
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_eight_and_two() {
        assert_eq!(
            redact("sk-proj-abcdefghijklmnopqrstuvwxyzXv"),
            "sk-proj-…Xv"
        );
    }

    #[test]
    fn redaction_of_short_secrets_shows_less() {
        assert_eq!(redact("AKIAZ3MRT7QW5NXKPLVB"), "AKIAZ3…VB"); // keygate:allow (synthetic)
        assert_eq!(redact("abcdefghijkl"), "abcd…l");
        assert_eq!(redact("abcdefgh"), "ab…h");
        assert_eq!(redact(""), "…");
        assert!(!redact("-----BEGIN\nKEY\n-----").contains('\n'));
    }

    #[test]
    fn fingerprint_is_sha256_of_rule_and_secret() {
        assert_eq!(
            fingerprint("r", "s"),
            "44c71f3e87e3599e14890254d522998ae2c12aacfb7cdd227998477183ca4173"
        );
    }

    #[test]
    fn lines_and_columns_are_one_based_in_characters() {
        let hay = "a\nzé = sk-1\n".as_bytes();
        let at = hay.windows(4).position(|w| w == b"sk-1").unwrap();
        assert_eq!(line_column(hay, at, Origin::default()), (2, 6));
        let carried = Origin {
            offset: 100,
            line: 7,
            column_carry: 4,
        };
        assert_eq!(line_column(b"xsk", 1, carried), (7, 6));
    }

    #[test]
    fn each_byte_of_an_invalid_sequence_is_a_column() {
        assert_eq!(count_chars("zé€😀".as_bytes()), 4);
        assert_eq!(count_chars(b"\x80\x80a"), 3);
        assert_eq!(count_chars(b"\xE2\x82 "), 3);
        assert_eq!(count_chars(b"\xFF\xC3\x28"), 3);
    }
}
