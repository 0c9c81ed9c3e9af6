//! `--commit-msg FILE`: the message of the commit being made, as git's `commit-msg`
//! hook receives it, scanned for what git will keep of it.
//!
//! git hands the hook the message before its cleanup, with the help text and, for
//! `git commit -v`, the diff below a scissors line. What the cleanup drops never
//! reaches the commit, so it is left out here ([`Cleanup`]): the lines that start
//! with the comment string (`core.commentString`, `core.commentChar`, `#` by
//! default, or the one git chose under `auto`), and everything from the scissors line
//! on. Dropped lines are blanked, not removed, so a finding's line is the file's.
//! The cleanup mode is git's (`commit.cleanup`): under `default`, comments go only
//! when an editor was used, which git tells its hooks by `GIT_EDITOR=:` when none
//! was. The kept text goes to [`super::message::scan_message`].

use std::path::PathBuf;

use anyhow::Context;

use super::message::scan_message;
use super::{ScanContext, Source, Worker};
use crate::finding::MessageOf;

/// The line that `git commit -v` and the `scissors` cleanup cut at, after the
/// comment string and a space.
const SCISSORS: &[u8] = b"------------------------ >8 ------------------------";
/// The comment characters `core.commentChar=auto` chooses from, in git's order.
const AUTO_CHARS: &[u8] = b"#;@!$%^&|:";

/// A proposed commit message in a file.
#[derive(Clone, Debug)]
pub struct CommitMsgSource {
    pub file: PathBuf,
    /// The repository whose git configuration says how git cleans the message.
    pub repo: PathBuf,
}

impl Source for CommitMsgSource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("cannot read the commit message `{}`", self.file.display()))?;
        let config = git2::Repository::discover(&self.repo)
            .and_then(|repo| repo.config())
            .or_else(|_| git2::Config::open_default())
            .ok();
        let get = |name: &str| config.as_ref().and_then(|c| c.get_string(name).ok());
        let editor_used = std::env::var_os("GIT_EDITOR").is_none_or(|e| e != ":");
        let cleanup = Cleanup::of(
            get("commit.cleanup").as_deref(),
            editor_used,
            get("core.commentString")
                .or_else(|| get("core.commentChar"))
                .as_deref(),
            &bytes,
        );
        let kept = cleanup.apply(&bytes);
        let mut worker = Worker::default();
        scan_message(ctx, &mut worker, &kept, &MessageOf::Commit, || None);
        Ok(())
    }
}

/// What git's cleanup drops from a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cleanup {
    /// Lines that start with this are dropped.
    pub comment: Option<Vec<u8>>,
    /// Everything from the scissors line (written with this comment string) on is
    /// dropped.
    pub scissors: Option<Vec<u8>>,
}

impl Cleanup {
    /// The cleanup git applies under `commit.cleanup` = `mode` (unset: `default`),
    /// with or without an editor, and `core.commentChar` = `comment` (unset: `#`);
    /// `message` is looked at only to see which character `auto` chose.
    pub fn of(
        mode: Option<&str>,
        editor_used: bool,
        comment: Option<&str>,
        message: &[u8],
    ) -> Cleanup {
        let comment = match comment.map(str::trim) {
            None | Some("") => b"#".to_vec(),
            Some(auto) if auto.eq_ignore_ascii_case("auto") => vec![auto_char(message)],
            Some(other) => other.as_bytes().to_vec(),
        };
        // git's `cleanup_mode`: `default` strips comments only when an editor was
        // used, `scissors` cuts only then; `verbatim` and `whitespace` keep both.
        let (strip, cut) = match mode.map(str::trim) {
            None | Some("default") => (editor_used, editor_used),
            Some("strip") => (true, true),
            Some("scissors") => (false, editor_used),
            _ => (false, false),
        };
        Cleanup {
            comment: strip.then(|| comment.clone()),
            scissors: cut.then_some(comment),
        }
    }

    /// `message` with what git drops blanked (its line breaks kept), and cut at the
    /// scissors line.
    pub fn apply(&self, message: &[u8]) -> Vec<u8> {
        let mut out = message.to_vec();
        if let Some(comment) = &self.scissors {
            let mut at = 0;
            for line in message.split_inclusive(|&b| b == b'\n') {
                if is_scissors(line, comment) {
                    out.truncate(at);
                    break;
                }
                at += line.len();
            }
        }
        if let Some(comment) = &self.comment {
            let mut at = 0;
            while at < out.len() {
                let end = memchr::memchr(b'\n', &out[at..]).map_or(out.len(), |p| at + p);
                if out[at..end].starts_with(comment) {
                    out[at..end].fill(b' ');
                }
                at = end + 1;
            }
        }
        out
    }
}

/// True when `line` (with or without its line break) is git's scissors line.
fn is_scissors(line: &[u8], comment: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_prefix(comment)
        .and_then(|rest| rest.strip_prefix(b" "))
        .is_some_and(|rest| rest == SCISSORS)
}

/// The character `core.commentChar=auto` chose for this message: the one that
/// starts its scissors line, else the one that starts its last line of text (where
/// git's help text ends), else `#`.
fn auto_char(message: &[u8]) -> u8 {
    let lines = || message.split(|&b| b == b'\n');
    if let Some(c) = lines()
        .filter_map(|line| line.first().copied())
        .filter(|c| AUTO_CHARS.contains(c))
        .find(|&c| lines().any(|line| is_scissors(line, &[c])))
    {
        return c;
    }
    lines()
        .rev()
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .and_then(|line| line.first().copied())
        .filter(|c| AUTO_CHARS.contains(c))
        .unwrap_or(b'#')
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDITED: &str =
        "Fix the thing\n\nbody line\n# Please enter the commit message\n# comment\n";

    /// With an editor, comment lines are blanked and line numbers kept; without one
    /// (`git commit -m`), git keeps them and so does the scan.
    #[test]
    fn comments_go_only_when_git_drops_them() {
        let edited = Cleanup::of(None, true, None, EDITED.as_bytes());
        let kept = edited.apply(EDITED.as_bytes());
        assert_eq!(kept.len(), EDITED.len());
        let text = String::from_utf8(kept).unwrap();
        assert!(text.starts_with("Fix the thing\n\nbody line\n"));
        assert!(!text.contains('#'));
        assert_eq!(text.lines().count(), EDITED.lines().count());
        let typed = Cleanup::of(None, false, None, EDITED.as_bytes());
        assert_eq!(typed.apply(EDITED.as_bytes()), EDITED.as_bytes());
        for mode in ["verbatim", "whitespace"] {
            let cleanup = Cleanup::of(Some(mode), true, None, EDITED.as_bytes());
            assert_eq!(
                cleanup.apply(EDITED.as_bytes()),
                EDITED.as_bytes(),
                "{mode}"
            );
        }
        let strip = Cleanup::of(Some("strip"), false, None, EDITED.as_bytes());
        assert!(!strip.apply(EDITED.as_bytes()).contains(&b'#'));
    }

    /// Everything from the scissors line on is dropped; a line that only looks like
    /// it (another comment string, text after it) is not a cut.
    #[test]
    fn the_scissors_line_cuts() {
        let message = "Subject\n; ------------------------ >8 ------------------------\ndiff\n";
        let cleanup = Cleanup::of(Some("default"), true, Some(";"), message.as_bytes());
        assert_eq!(cleanup.apply(message.as_bytes()), b"Subject\n");
        let other = Cleanup::of(None, true, Some("#"), message.as_bytes());
        assert_eq!(other.apply(message.as_bytes()), message.as_bytes());
        let scissors = Cleanup::of(Some("scissors"), true, None, b"");
        let text = "a\n# keep\n# ------------------------ >8 ------------------------ x\nb\n";
        assert_eq!(scissors.apply(text.as_bytes()), text.as_bytes());
    }

    /// `auto` finds the character git chose from the scissors line or the help text
    /// at the end.
    #[test]
    fn auto_comment_char_is_found() {
        let message = b"# not a comment\n\n; Please enter the commit message\n; status\n";
        assert_eq!(auto_char(message), b';');
        let cut = b"#x\n@ ------------------------ >8 ------------------------\n; y\n";
        assert_eq!(auto_char(cut), b'@');
        assert_eq!(auto_char(b"plain\n"), b'#');
        let cleanup = Cleanup::of(None, true, Some("auto"), message);
        let kept = cleanup.apply(message);
        assert!(kept.starts_with(b"# not a comment\n"));
        assert!(!kept.contains(&b';'));
    }
}
