//! Reversed text: a key written backwards (`"…-jorp-ks"`, then
//! `.split('').reverse().join('')`), turned round for the token that holds a
//! reversed form of a key's prefix, or of its base64 (see [`super::disguise`]).

use super::rot13::token_around;
use super::segment::MIN_DECODED;
use super::{Layer, Piece};

/// Turns round the token at `at`; returns where the token ends.
pub fn decode_at(hay: &[u8], at: usize, out: &mut Vec<Piece>) -> usize {
    let token = token_around(hay, at);
    if token.len() >= MIN_DECODED {
        out.push(Piece {
            under: None,
            layer: Layer::Reverse,
            bytes: hay[token.clone()].iter().rev().copied().collect(),
            spans: token
                .clone()
                .rev()
                .map(|p| (p as u32, p as u32 + 1))
                .collect(),
        });
    }
    token.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversed_tokens_turn_round_and_map_back() {
        let hay = b"k = '9876543210hgfEdcbA-jorp-ks'.split('')";
        let mut out = Vec::new();
        decode_at(hay, 24, &mut out);
        assert_eq!(out[0].bytes, b"sk-proj-AbcdEfgh0123456789");
        // The key's first byte is the token's last.
        assert_eq!(out[0].spans[0], (30, 31));
    }
}
