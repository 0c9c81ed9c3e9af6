//! Joined literals: the text a program builds from string literals, rebuilt where a
//! literal holds a key's prefix (or its base64, hex or `\x` form; see
//! [`super::disguise`]).
//!
//! From the literal that holds the prefix, the literals that continue it are taken:
//! joined by `+`, `.`, `..` or `&`, adjacent (implicit concatenation in Python, C
//! and Go), over several lines; or the items of an array or list that is joined
//! (`[…].join('')`, `''.join([…])`). Their contents, escapes as written, make the
//! view, each byte mapped to its place in its literal; the view is decoded again
//! like any other, so base64 cut into chunks joins before it decodes. A literal that
//! nothing continues gives no view: the plain scan reads it, and `"sk-" + variable`
//! or a template with a placeholder builds no key.

use std::ops::Range;

use super::segment::MIN_DECODED;
use super::{base64, is_text, Layer, Piece};

/// Longest literal read.
const MAX_LITERAL: usize = 1024;
/// Most literals joined.
const MAX_PARTS: usize = 64;
/// Bytes between two literals: white space, line breaks and one operator.
const MAX_GAP: usize = 64;

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// The contents of the literal that holds `at`: from just after its opening quote
/// to its closing one. The opening quote is the nearest quote before `at` on its
/// line with only key characters between.
fn literal_around(hay: &[u8], at: usize) -> Option<(Range<usize>, u8)> {
    let floor = at.saturating_sub(MAX_LITERAL);
    let open = hay[floor..at]
        .iter()
        .rposition(|&b| is_quote(b) || b == b'\n' || b.is_ascii_whitespace())
        .map(|p| floor + p)?;
    if !is_quote(hay[open]) {
        return None;
    }
    let contents = literal_from(hay, open)?;
    (contents.end > at).then_some((contents, hay[open]))
}

/// The contents of the literal whose opening quote is at `open`; `None` if it does
/// not close on its line.
fn literal_from(hay: &[u8], open: usize) -> Option<Range<usize>> {
    let quote = hay[open];
    let start = open + 1;
    let ceiling = (start + MAX_LITERAL).min(hay.len());
    let mut i = start;
    while i < ceiling {
        match hay[i] {
            b'\\' => i += 2,
            b'\n' if quote != b'`' => return None,
            b if b == quote => return Some(start..i),
            _ => i += 1,
        }
    }
    None
}

/// Where the next literal of a chain opens after a literal that closed before
/// `after`: white space and at most one join operator between; `commas` allows a
/// comma instead (the items of a joined array).
fn next_literal(hay: &[u8], after: usize, commas: bool) -> Option<usize> {
    let mut i = after;
    let mut operators = 0;
    let mut calls = 0;
    let ceiling = (after + MAX_GAP).min(hay.len());
    while i < ceiling {
        match hay[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            // Each literal inside a call of its own: `atob("…") + atob("…")`.
            b')' if !commas && operators == 0 && calls == 0 => {
                calls = 1;
                i += 1;
            }
            b if calls == 1 && operators == 1 && (b.is_ascii_alphabetic() || b == b'_') => {
                let name = hay[i..ceiling]
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                    .count();
                if hay.get(i + name) != Some(&b'(') {
                    return None;
                }
                calls = 2;
                i += name + 1;
            }
            // A line continuation in Python, C and shell.
            b'\\' if matches!(hay.get(i + 1), Some(b'\n' | b'\r')) => i += 1,
            b'+' | b'&' if operators == 0 => {
                operators += 1;
                i += 1;
            }
            b'.' if operators == 0 => {
                operators += 1;
                i += if hay.get(i + 1) == Some(&b'.') { 2 } else { 1 };
            }
            b',' if commas && operators == 0 => {
                operators += 1;
                i += 1;
            }
            b if is_quote(b) && calls != 1 => return Some(i),
            _ => return None,
        }
    }
    None
}

/// True when the array whose items start at `first_open` (an opening quote right
/// after `[` or `(`) is joined: `[…].join(`, or `join([…`.
fn array_is_joined(hay: &[u8], first_open: usize, last_close: usize) -> bool {
    let before = &hay[first_open.saturating_sub(24)..first_open];
    let before = before.trim_ascii_end();
    let Some((&bracket, rest)) = before.split_last() else {
        return false;
    };
    if !matches!(bracket, b'[' | b'(') {
        return false;
    }
    if rest.trim_ascii_end().ends_with(b"join(") {
        return true;
    }
    let after = &hay[last_close + 1..(last_close + 40).min(hay.len())];
    let after = after.trim_ascii_start();
    after.starts_with(b"]") && after[1..].trim_ascii_start().starts_with(b".join(")
}

/// Rebuilds the text joined from the literal that holds `at` and those that continue
/// it; returns where the last literal ends.
pub fn decode_at(hay: &[u8], at: usize, out: &mut Vec<Piece>) -> usize {
    let Some((first, _)) = literal_around(hay, at) else {
        return at + 1;
    };
    let mut parts = vec![first.clone()];
    let chain = |parts: &mut Vec<Range<usize>>, commas: bool| {
        while parts.len() < MAX_PARTS {
            let last = parts.last().expect("a chain starts with a literal").clone();
            let Some(open) = next_literal(hay, last.end + 1, commas) else {
                break;
            };
            let Some(next) = literal_from(hay, open) else {
                break;
            };
            parts.push(next);
        }
    };
    chain(&mut parts, false);
    if parts.len() == 1 {
        // The items of a joined array, from its first.
        let mut start = first.clone();
        while let Some(prev) = previous_item(hay, start.start - 1) {
            start = prev;
        }
        let mut items = vec![start];
        chain(&mut items, true);
        let last = items.last().expect("at least one item").end;
        if items.len() > 1
            && items.iter().any(|r| r.start == first.start)
            && array_is_joined(hay, items[0].start - 1, last)
        {
            parts = items;
        }
    }
    let end = parts.last().map_or(at + 1, |r| r.end);
    if parts.len() < 2 {
        return end;
    }
    let mut piece = Piece::new(Layer::Join);
    for part in &parts {
        piece.bytes.extend_from_slice(&hay[part.clone()]);
        piece
            .spans
            .extend(part.clone().map(|p| (p as u32, p as u32 + 1)));
    }
    out.push(piece);
    if let Some(decoded) = padded_pieces(hay, &parts) {
        out.push(decoded);
    }
    end
}

/// The literals decoded one by one, when each is base64 with its own padding
/// (`"c2stcHJvai0=" + "…"`): joined first, they would not decode, as the padding
/// inside breaks the stream.
fn padded_pieces(hay: &[u8], parts: &[Range<usize>]) -> Option<Piece> {
    let padded_inside = parts[..parts.len() - 1]
        .iter()
        .any(|part| hay[part.clone()].ends_with(b"="));
    if !padded_inside {
        return None;
    }
    let mut piece = Piece::new(Layer::Join);
    piece.under = Some(Layer::Base64);
    for part in parts {
        let decoded = base64::decode_padded(hay, part.clone())?;
        piece.bytes.extend(decoded.bytes);
        piece.spans.extend(decoded.spans);
    }
    (piece.bytes.len() >= MIN_DECODED && is_text(&piece.bytes)).then_some(piece)
}

/// The item before the one whose opening quote is at `open`, in a list: a literal
/// closed just before, with a comma and white space between.
fn previous_item(hay: &[u8], open: usize) -> Option<Range<usize>> {
    let before = hay[open.saturating_sub(MAX_GAP)..open].trim_ascii_end();
    let before = before.strip_suffix(b",")?.trim_ascii_end();
    let close = open.saturating_sub(MAX_GAP) + before.len().checked_sub(1)?;
    let quote = hay[close];
    if !is_quote(quote) {
        return None;
    }
    let floor = close.saturating_sub(MAX_LITERAL);
    let opening = hay[floor..close].iter().rposition(|&b| b == quote)? + floor;
    let item = literal_from(hay, opening)?;
    (item.end == close).then_some(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(text: &str) -> Vec<String> {
        let at = text.find("sk-").expect("a prefix in the text");
        let mut out = Vec::new();
        decode_at(text.as_bytes(), at, &mut out);
        out.into_iter()
            .map(|p| String::from_utf8(p.bytes).unwrap())
            .collect()
    }

    #[test]
    fn chains_of_literals_join() {
        assert_eq!(
            joined(r#"k = "sk-pr" + "oj-abc" + 'def'"#),
            ["sk-proj-abcdef"]
        );
        assert_eq!(joined("k = (\"sk-pr\"\n     \"oj-abc\")"), ["sk-proj-abc"]);
        assert_eq!(joined(r#"$k = "sk-pr" . "oj-abc";"#), ["sk-proj-abc"]);
        assert_eq!(joined(r#"local k = "sk-pr" .. "oj-abc""#), ["sk-proj-abc"]);
        assert_eq!(joined("k = \"sk-pr\" \\\n  \"oj-abc\""), ["sk-proj-abc"]);
    }

    #[test]
    fn joined_arrays_join_and_other_lists_do_not() {
        assert_eq!(
            joined(r#"k = ["sk-pr", "oj-", "abc"].join("")"#),
            ["sk-proj-abc"]
        );
        assert_eq!(
            joined(r#"k = "".join(["sk-pr", "oj-", "abc"])"#),
            ["sk-proj-abc"]
        );
        assert_eq!(
            joined(r#"k = ["x", "sk-pr", "oj-"].join('')"#),
            ["xsk-proj-"]
        );
        assert!(joined(r#"f("sk-proj-abc", "other")"#).is_empty());
        assert!(joined(r#"names = ["sk-a", "sk-b"]"#).is_empty());
    }

    #[test]
    fn literals_in_calls_of_their_own_join() {
        assert_eq!(
            joined(r#"k = atob("sk-pr") + atob("oj-abc")"#),
            ["sk-proj-abc"]
        );
        assert!(joined(r#"k = f("sk-pr") + g"#).is_empty());
        assert!(joined(r#"k = f("sk-pr") + ("oj-abc")"#).is_empty());
    }

    #[test]
    fn base64_pieces_padded_one_by_one_decode_one_by_one() {
        let first = super::base64::encode_for_tests(b"sk-proj-");
        let second = super::base64::encode_for_tests(b"abcdefghijklmnop");
        assert!(first.ends_with('='));
        let text = format!(r#"k = atob("{first}") + atob("{second}")"#);
        let at = text.find(&first).unwrap();
        let mut out = Vec::new();
        decode_at(text.as_bytes(), at, &mut out);
        let decoded = out
            .iter()
            .find(|p| p.under == Some(Layer::Base64))
            .expect("a view");
        assert_eq!(decoded.bytes, b"sk-proj-abcdefghijklmnop");
        let (s, e) = decoded.spans[0];
        assert_eq!(&text[s as usize..e as usize], &first[..2]);
        let (_, e) = *decoded.spans.last().unwrap();
        assert!(e as usize <= at + first.len() + r#"") + atob(""#.len() + second.len());
    }

    #[test]
    fn what_is_not_a_chain_of_literals_gives_nothing() {
        assert!(joined(r#"k = "sk-" + variable"#).is_empty());
        assert!(joined(r#"k = "sk-proj-abc""#).is_empty());
        assert!(joined("a = \"sk-x\"\nb = \"y\"").is_empty());
    }
}
