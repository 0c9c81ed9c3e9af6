//! Escapes of JSON, JavaScript, Python, C and Rust strings: `\uXXXX` (with surrogate
//! pairs), `\u{…}` and `\xNN`. The stretch of a line around each is decoded (see
//! [`segment::decode_around`]), and with it the one-letter escapes beside them
//! (`\n`, `\/`, `\"`, …), so a key written `sk\u002dproj\u002d…` reads whole.

use super::segment::{self, hex_number, hex_value, Unescaped};
use super::{Decoder, Layer, Piece};

pub struct Escape;

/// A `\u` or `\x` escape at `i`.
fn code_escape(hay: &[u8], i: usize) -> Option<Unescaped> {
    if hay[i] != b'\\' {
        return None;
    }
    match *hay.get(i + 1)? {
        b'x' => {
            let high = hex_value(*hay.get(i + 2)?)?;
            let low = hex_value(*hay.get(i + 3)?)?;
            Some(Unescaped::byte(high << 4 | low, 4))
        }
        b'u' if hay.get(i + 2) == Some(&b'{') => {
            let close = hay[i + 3..hay.len().min(i + 12)]
                .iter()
                .position(|&b| b == b'}')?;
            let code = hex_number(&hay[i + 3..i + 3 + close])?;
            Some(Unescaped::char(char::from_u32(code)?, close + 4))
        }
        b'u' => {
            let unit = hex_number(hay.get(i + 2..i + 6)?)?;
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate needs its low half: `\uD83D\uDE00`.
                let rest = hay.get(i + 6..i + 12)?;
                if &rest[..2] != b"\\u" {
                    return None;
                }
                let low = hex_number(&rest[2..])?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Some(Unescaped::char(char::from_u32(code)?, 12));
            }
            Some(Unescaped::char(char::from_u32(unit)?, 6))
        }
        _ => None,
    }
}

/// Any escape at `i`: a code escape, or a one-letter one.
fn escape_at(hay: &[u8], i: usize) -> Option<Unescaped> {
    if hay[i] != b'\\' {
        return None;
    }
    code_escape(hay, i).or_else(|| {
        let c = match *hay.get(i + 1)? {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b @ (b'/' | b'\\' | b'"' | b'\'' | b'`') => b,
            _ => return None,
        };
        Some(Unescaped::byte(c, 2))
    })
}

impl Decoder for Escape {
    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        let triggers = memchr::memchr_iter(b'\\', hay)
            .filter(|&i| code_escape(hay, i).is_some_and(|u| u.is_printable_ascii()));
        segment::decode_around(Layer::Escape, hay, triggers, escape_at, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(hay: &str) -> Vec<String> {
        let mut out = Vec::new();
        Escape.decode(hay.as_bytes(), &mut out);
        out.into_iter()
            .map(|p| String::from_utf8(p.bytes).unwrap())
            .collect()
    }

    #[test]
    fn unicode_and_byte_escapes_decode() {
        assert_eq!(
            decoded(r#"{"key": "sk\u002dproj\u002dabc\/def", "n": "a\nb"}"#),
            ["{\"key\": \"sk-proj-abc/def\", \"n\": \"a\nb\"}"]
        );
        assert_eq!(
            decoded(r"k = '\x73\x6b\x2dabcdefghijklmn'"),
            ["k = 'sk-abcdefghijklmn'"]
        );
        assert_eq!(
            decoded(r#"s = "\u{73}\u{6b}-abcdefghijklmnop""#),
            ["s = \"sk-abcdefghijklmnop\""]
        );
        assert_eq!(
            decoded(r#"e = "\uD83D\uDE00 sk\u002dproj and more text""#),
            ["e = \"😀 sk-proj and more text\""]
        );
    }

    #[test]
    fn plain_escapes_and_binary_give_nothing() {
        assert!(decoded(r#"print("a\nb\tc and more text here")"#).is_empty());
        assert!(decoded(r"png = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00'").is_empty());
        // Text whose escapes are all of non-ASCII characters holds no key.
        assert!(decoded(r#"msg = "caf\u00e9 na\u00efve and more text""#).is_empty());
    }
}
