//! HTML and XML character references: `&#45;`, `&#x2d;` (the semicolon may be left
//! out, as browsers allow) and the named references that stand in keys, URLs and
//! assignments (`&amp;`, `&equals;`, …). The stretch of a line around each numeric
//! reference is decoded (see [`segment::decode_around`]).

use super::segment::{self, hex_number, Unescaped};
use super::{Decoder, Layer, Piece};

pub struct Html;

/// Named references worth knowing: those of characters that keys, URLs and
/// assignments hold.
const NAMED: &[(&[u8], char)] = &[
    (b"amp", '&'),
    (b"lt", '<'),
    (b"gt", '>'),
    (b"quot", '"'),
    (b"apos", '\''),
    (b"nbsp", ' '),
    (b"sol", '/'),
    (b"colon", ':'),
    (b"equals", '='),
    (b"lowbar", '_'),
    (b"hyphen", '-'),
    (b"dash", '-'),
    (b"period", '.'),
    (b"plus", '+'),
    (b"num", '#'),
    (b"percnt", '%'),
];

fn numeric(hay: &[u8], i: usize) -> Option<Unescaped> {
    if hay.get(i..i + 2)? != b"&#" {
        return None;
    }
    let hex = matches!(hay.get(i + 2), Some(b'x' | b'X'));
    let digits_start = i + 2 + usize::from(hex);
    let len = hay[digits_start..]
        .iter()
        .take(8)
        .take_while(|b| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count();
    let digits = &hay[digits_start..digits_start + len];
    let code = if hex {
        hex_number(digits)?
    } else {
        std::str::from_utf8(digits).ok()?.parse().ok()?
    };
    let c = char::from_u32(code)?;
    let semicolon = usize::from(hay.get(digits_start + len) == Some(&b';'));
    Some(Unescaped::char(c, digits_start + len + semicolon - i))
}

fn reference_at(hay: &[u8], i: usize) -> Option<Unescaped> {
    if hay[i] != b'&' {
        return None;
    }
    numeric(hay, i).or_else(|| {
        let rest = &hay[i + 1..hay.len().min(i + 9)];
        let end = rest.iter().position(|&b| b == b';')?;
        let c = NAMED.iter().find(|(name, _)| *name == &rest[..end])?.1;
        Some(Unescaped::char(c, end + 2))
    })
}

impl Decoder for Html {
    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        let triggers = memchr::memmem::find_iter(hay, b"&#")
            .filter(|&i| numeric(hay, i).is_some_and(|u| u.is_printable_ascii()));
        segment::decode_around(Layer::Html, hay, triggers, reference_at, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_decode() {
        let hay = b"<input value=\"&#115;&#107;&#x2d;abc&amp;def&#45ghijklmnop\">";
        let mut out = Vec::new();
        Html.decode(hay, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes, b"<input value=\"sk-abc&def-ghijklmnop\">");
        let mut none = Vec::new();
        Html.decode(
            b"<p>Tom &amp; Jerry, a long enough line of text</p>",
            &mut none,
        );
        assert!(none.is_empty());
        Html.decode(
            b"<p>caf&#233; &#8212; a long enough line of text</p>",
            &mut none,
        );
        assert!(none.is_empty());
    }
}
