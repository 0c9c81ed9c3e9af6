//! Disguised keys: what authors do to a key to get it past push protection, undone.
//!
//! A key cut into string literals joined again (`"sk-pr" + "oj-…"`, adjacent literals,
//! an array that is joined), rot13 (`fx-cebw-…`), reversed (`…-jorp-ks`), or written
//! as character codes (`[115, 107, 45, …]`, `String.fromCharCode(…)`, `0x73, 0x6b`).
//! Such text is everywhere decodable, so it is decoded only where a disguised form
//! of a key's distinctive prefix stands: one Aho-Corasick automaton holds the
//! prefixes (for joined literals, also their base64, hex and `\x` forms, as chunks
//! of those are joined before they decode), their rot13 and reversed forms, and the
//! character codes a prefix starts with, and each hit hands its place to the decoder
//! of its kind ([`super::join`], [`super::rot13`], [`super::reverse`],
//! [`super::charcodes`]).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::{charcodes, join, reverse, rot13, Decoder, Piece};

/// Prefixes that keys of a kind start with, long or rare enough that a disguised
/// form of one marks a disguised key.
pub const PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AIza",
    "hf_",
    "gsk_",
    "xai-",
    "pplx-",
    "nvapi-",
    "npm_",
    "pypi-",
    "whsec_",
    "csk-",
    "T3BlbkFJ",
];

/// What a trigger stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A prefix (or its base64, hex or `\x` form) that may open a cut literal.
    Literal,
    Rot13,
    Reverse,
    /// A character code that a prefix starts with.
    Charcode,
}

struct Triggers {
    automaton: AhoCorasick,
    kinds: Vec<Kind>,
}

fn triggers() -> &'static Triggers {
    static TRIGGERS: OnceLock<Triggers> = OnceLock::new();
    TRIGGERS.get_or_init(|| {
        let mut patterns: Vec<(String, Kind)> = Vec::new();
        let mut add = |pattern: String, kind: Kind| {
            if pattern.len() >= 3 && !patterns.iter().any(|(p, k)| *p == pattern && *k == kind) {
                patterns.push((pattern, kind));
            }
        };
        for prefix in PREFIXES {
            add((*prefix).to_string(), Kind::Literal);
            let b64 = base64_prefix(prefix.as_bytes());
            add(b64.clone(), Kind::Literal);
            add(
                prefix.bytes().map(|b| format!("{b:02x}")).collect(),
                Kind::Literal,
            );
            add(
                prefix.bytes().map(|b| format!("\\x{b:02x}")).collect(),
                Kind::Literal,
            );
            let rotated = rot13::rot13_str(prefix);
            if rotated != *prefix {
                add(rotated, Kind::Rot13);
            }
            add(prefix.chars().rev().collect(), Kind::Reverse);
            add(b64.chars().rev().collect(), Kind::Reverse);
        }
        for code in charcodes::FIRST_CODES {
            add((*code).to_string(), Kind::Charcode);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns.iter().map(|(p, _)| p.as_bytes()))
            .expect("a few hundred short literal patterns always build");
        Triggers {
            automaton,
            kinds: patterns.into_iter().map(|(_, k)| k).collect(),
        }
    })
}

/// The base64 characters that `prefix`, encoded from a group boundary, fixes
/// whatever follows it.
fn base64_prefix(prefix: &[u8]) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bits: Vec<u8> = prefix
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1))
        .collect();
    bits.chunks_exact(6)
        .map(|six| char::from(STD[six.iter().fold(0usize, |n, &b| n << 1 | usize::from(b))]))
        .collect()
}

pub struct Disguises;

impl Decoder for Disguises {
    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        let triggers = triggers();
        // Each construction is decoded once, however many triggers it holds.
        let mut done = [0usize; 4];
        for hit in triggers.automaton.find_overlapping_iter(hay) {
            let kind = triggers.kinds[hit.pattern().as_usize()];
            let slot = kind as usize;
            if hit.start() < done[slot] {
                continue;
            }
            let end = match kind {
                Kind::Literal => join::decode_at(hay, hit.start(), out),
                Kind::Rot13 => rot13::decode_at(hay, hit.start(), out),
                Kind::Reverse => reverse::decode_at(hay, hit.start(), out),
                Kind::Charcode => charcodes::decode_at(hay, hit.start(), out),
            };
            done[slot] = done[slot].max(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_prefixes_are_the_fixed_characters() {
        assert_eq!(base64_prefix(b"sk-"), "c2st");
        assert_eq!(base64_prefix(b"sk-proj-"), "c2stcHJvai");
        assert_eq!(base64_prefix(b"AKIA"), "QUtJQ");
    }

    #[test]
    fn every_kind_has_triggers() {
        let t = triggers();
        for kind in [Kind::Literal, Kind::Rot13, Kind::Reverse, Kind::Charcode] {
            assert!(t.kinds.contains(&kind), "{kind:?}");
        }
    }
}
