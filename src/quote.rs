//! Quoting of scanned text for people: every human-facing writer (the human report,
//! warnings and errors on stderr, the Action's job summary) passes what came from
//! scanned data through here, so that no scanned byte can move the cursor, change a
//! colour, or start a line with a workflow command (`::stop-commands::`) in a CI log.
//!
//! Quoting follows git's `core.quotePath`: text that needs it is shown in double
//! quotes with C escapes (`"a\n::stop-commands::zzz\n.py"`, `\033` for ESC), and
//! text that does not is shown as it is. Unlike git with `core.quotePath` on, printable
//! non-ASCII stays readable (like `core.quotePath=false`); what is escaped is every
//! C0 control, DEL, every C1 control (a terminal may read U+009B as CSI), and the
//! Unicode format characters that reorder or break a line as shown (bidirectional
//! overrides and isolates, line and paragraph separators). Machine formats (JSON,
//! SARIF) have escapes of their own and do not come here.

use std::borrow::Cow;
use std::fmt::Write;

/// True for a character that must never reach a terminal or log as it is.
fn is_hostile(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A path as git shows it: quoted when it holds a hostile character, `"` or `\`, so
/// that a quoted name can never be mistaken for a plain one.
pub fn path(text: &str) -> Cow<'_, str> {
    if text.chars().any(|c| is_hostile(c) || c == '"' || c == '\\') {
        Cow::Owned(quoted(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// Free text from scanned data (a line of code, a commit summary, an author, a rule's
/// name): quoted only when it holds a hostile character, so that ordinary code with
/// quotes and backslashes reads as written.
pub fn text(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_hostile) {
        Cow::Owned(quoted(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// A whole message (warning, error): hostile characters escaped where they stand,
/// without quotes. The last guard for messages whose parts were quoted already: it
/// leaves quoted text unchanged.
pub fn controls(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_hostile) {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            push_char(&mut out, c);
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` in double quotes, with C escapes.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_char(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// One character, escaped if hostile: git's short escapes where it has them, else the
/// octal value of each UTF-8 byte (`\033`, `\302\233`), as git writes them.
fn push_char(out: &mut String, c: char) {
    if !is_hostile(c) {
        out.push(c);
        return;
    }
    let short = match c {
        '\x07' => Some('a'),
        '\x08' => Some('b'),
        '\t' => Some('t'),
        '\n' => Some('n'),
        '\x0b' => Some('v'),
        '\x0c' => Some('f'),
        '\r' => Some('r'),
        _ => None,
    };
    if let Some(letter) = short {
        out.push('\\');
        out.push(letter);
        return;
    }
    let mut buf = [0u8; 4];
    for byte in c.encode_utf8(&mut buf).bytes() {
        let _ = write!(out, "\\{byte:03o}");
    }
}

/// Text for a Markdown document that GitHub renders (the Action's job summary), also
/// inside a table cell: hostile characters quoted as in [`text`], then every HTML
/// special character written as an entity and every other ASCII punctuation
/// character escaped with a backslash, so that scanned text can neither open a tag,
/// a link or an image, nor end the cell, nor change emphasis.
pub fn markdown(raw: &str) -> String {
    let safe = text(raw);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A path or id as a Markdown code span inside a table cell: quoted as [`text`] (a
/// caller that wants a path quoted as git does passes [`path`]'s answer),
/// wrapped in a backtick fence longer than any backtick run it holds (so it cannot
/// close the span early), with `|` escaped, which GitHub's tables need even inside
/// code. Code spans show HTML and Markdown as literal text.
pub fn markdown_code(raw: &str) -> String {
    let safe = text(raw);
    let longest = safe.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let body = safe.replace('|', "\\|");
    // A span that starts or ends with a backtick needs a space inside the fence.
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_shown_as_it_is() {
        assert!(matches!(path("src/app.py"), Cow::Borrowed(_)));
        assert!(matches!(text("let k = \"a\\b\";"), Cow::Borrowed(_)));
        assert_eq!(path("café/naïve.txt"), "café/naïve.txt");
    }

    #[test]
    fn paths_are_quoted_as_git_does() {
        assert_eq!(
            path("a\n::stop-commands::zzz\n.py"),
            "\"a\\n::stop-commands::zzz\\n.py\""
        );
        assert_eq!(path("a\x1b[2K\x1b[1A.py"), "\"a\\033[2K\\033[1A.py\"");
        assert_eq!(path("tab\there"), "\"tab\\there\"");
        assert_eq!(path("say \"hi\".txt"), "\"say \\\"hi\\\".txt\"");
        assert_eq!(path("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(path("del\x7f"), "\"del\\177\"");
    }

    #[test]
    fn unicode_controls_are_escaped_by_their_bytes() {
        // C1 CSI and a right-to-left override.
        assert_eq!(path("x\u{9b}2Jy"), "\"x\\302\\2332Jy\"");
        assert_eq!(text("a\u{202e}b"), "\"a\\342\\200\\256b\"");
    }

    #[test]
    fn text_is_quoted_only_for_controls() {
        assert_eq!(text("key = \"x\""), "key = \"x\"");
        assert_eq!(text("a\r\"b\""), "\"a\\r\\\"b\\\"\"");
    }

    #[test]
    fn messages_keep_their_shape() {
        assert_eq!(controls("`a\nb`: gone"), "`a\\nb`: gone");
        let once = path("a\nb");
        assert_eq!(controls(&once), once);
    }

    #[test]
    fn markdown_cannot_open_tags_links_or_cells() {
        assert_eq!(
            markdown("<img src=x> [a](b) | *c*"),
            "&lt;img src\\=x&gt; \\[a\\]\\(b\\) \\| \\*c\\*"
        );
        assert_eq!(markdown("a\nb"), "&quot;a\\\\nb&quot;");
        assert_eq!(markdown_code("a|b"), "`a\\|b`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
    }
}
