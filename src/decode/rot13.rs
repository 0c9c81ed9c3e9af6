//! rot13: a key whose letters are each moved 13 places (`fx-cebw-…` for
//! `sk-proj-…`), undone for the token that holds a rot13 form of a key's prefix
//! (see [`super::disguise`]).

use super::segment::MIN_DECODED;
use super::{Layer, Piece};

/// Longest token undone.
const MAX_TOKEN: usize = 1024;

fn rot13(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
        _ => b,
    }
}

pub fn rot13_str(text: &str) -> String {
    text.bytes().map(|b| char::from(rot13(b))).collect()
}

/// Bytes a key (or its base64) is made of.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=')
}

/// The token of [`is_token_byte`]s around `at`, at most [`MAX_TOKEN`] long.
pub fn token_around(hay: &[u8], at: usize) -> std::ops::Range<usize> {
    let floor = at.saturating_sub(MAX_TOKEN);
    let start = hay[floor..at]
        .iter()
        .rposition(|&b| !is_token_byte(b))
        .map_or(floor, |p| floor + p + 1);
    let ceiling = (start + MAX_TOKEN).min(hay.len());
    let end = hay[at..ceiling]
        .iter()
        .position(|&b| !is_token_byte(b))
        .map_or(ceiling, |p| at + p);
    start..end
}

/// Undoes rot13 on the token at `at`; returns where the token ends.
pub fn decode_at(hay: &[u8], at: usize, out: &mut Vec<Piece>) -> usize {
    let token = token_around(hay, at);
    if token.len() >= MIN_DECODED {
        out.push(Piece {
            under: None,
            layer: Layer::Rot13,
            bytes: hay[token.clone()].iter().map(|&b| rot13(b)).collect(),
            spans: token.clone().map(|p| (p as u32, p as u32 + 1)).collect(),
        });
    }
    token.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rot13_is_undone_for_the_token() {
        let hay = b"key = rot13(\"fx-cebw-NopqRstu0123456789\")";
        let at = 13;
        let mut out = Vec::new();
        decode_at(hay, at, &mut out);
        assert_eq!(out[0].bytes, b"sk-proj-AbcdEfgh0123456789");
        assert_eq!(out[0].spans[0], (13, 14));
        assert_eq!(rot13_str("sk-proj-"), "fx-cebw-");
    }
}
