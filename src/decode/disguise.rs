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
use crate::engine::TriggerHit;

/// Prefixes that keys of a kind start with, long or rare enough that a disguised
/// form of one marks a disguised key.
pub const PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "rk_live_",
    "ghp_",
    "gho_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "AIza",
    "hf_",
    "gsk_",
    "xai-",
    "pplx-",
    "nvapi-",
    "npm_",
    "T3BlbkFJ",
];

/// The prefixes whose encoded, rot13 and reversed forms are looked for too: the
/// most leaked kinds. The automaton stays within 64 patterns, where `aho-corasick`
/// searches with a vectorised prefilter (Teddy) instead of walking every byte.
const DISGUISED: &[&str] = &[
    "sk-",
    "ghp_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "AKIA",
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

/// The trigger patterns and what each stands for: cheap to build, and all a scan
/// needs when the engine's keyword walk finds them.
struct Triggers {
    patterns: Vec<Vec<u8>>,
    kinds: Vec<Kind>,
}

/// The patterns whose places the disguise decoder needs: give them to the engine's
/// keyword walk (`Scanner::with_triggers`) and hand its hits to
/// [`super::decode`], and the search costs no pass of its own.
pub fn trigger_patterns() -> Vec<Vec<u8>> {
    triggers().patterns.clone()
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
        }
        for prefix in DISGUISED {
            let b64 = base64_prefix(prefix.as_bytes());
            add(b64.clone(), Kind::Literal);
            add(prefix.chars().rev().collect(), Kind::Reverse);
            let rotated = rot13::rot13_str(prefix);
            if rotated != *prefix {
                add(rotated, Kind::Rot13);
            }
        }
        // Hex and `\x` chunks, and reversed base64, of the generic prefix alone.
        add("736b2d".to_string(), Kind::Literal);
        add("\\x73\\x6b\\x2d".to_string(), Kind::Literal);
        add(base64_prefix(b"sk-").chars().rev().collect(), Kind::Reverse);
        add(rot13::rot13_str("hf_"), Kind::Rot13);
        for code in charcodes::FIRST_CODES {
            add((*code).to_string(), Kind::Charcode);
        }
        Triggers {
            kinds: patterns.iter().map(|(_, k)| *k).collect(),
            patterns: patterns.into_iter().map(|(p, _)| p.into_bytes()).collect(),
        }
    })
}

/// The automaton over the trigger patterns, for content the keyword walk did not
/// see (decoded views, or a scanner built without triggers). Built on first use, so
/// a scan whose keyword walk finds the triggers (a pre-commit run) never builds it.
fn automaton() -> &'static AhoCorasick {
    static AUTOMATON: OnceLock<AhoCorasick> = OnceLock::new();
    AUTOMATON.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&triggers().patterns)
            .expect("a few dozen short literal patterns always build")
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
    /// Character codes stand in compiled tables, and the triggers cost nothing.
    fn reads_binary(&self) -> bool {
        true
    }

    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        let hits = automaton()
            .find_iter(hay)
            .map(|m| (m.start(), m.pattern().as_usize()));
        decode_each(hay, hits, out);
    }

    fn decode_at_triggers(&self, hay: &[u8], triggers: &[TriggerHit], out: &mut Vec<Piece>) {
        decode_hits(hay, triggers, out);
    }
}

/// Decodes at the places the engine's keyword walk found ([`trigger_patterns`]).
/// The walk matches without regard to case; the patterns are checked as written.
fn decode_hits(hay: &[u8], hits: &[TriggerHit], out: &mut Vec<Piece>) {
    if hits.is_empty() {
        return;
    }
    let patterns = &triggers().patterns;
    let mut exact: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| {
            let pattern = &patterns[h.trigger as usize];
            hay.get(h.start..h.start + pattern.len()) == Some(pattern.as_slice())
        })
        .map(|h| (h.start, h.trigger as usize))
        .collect();
    exact.sort_unstable();
    decode_each(hay, exact.into_iter(), out);
}

fn decode_each(hay: &[u8], hits: impl Iterator<Item = (usize, usize)>, out: &mut Vec<Piece>) {
    let kinds = &triggers().kinds;
    // Each construction is decoded once, however many triggers it holds.
    let mut done = [0usize; 4];
    for (start, pattern) in hits {
        let kind = kinds[pattern];
        let slot = kind as usize;
        if start < done[slot] {
            continue;
        }
        let end = match kind {
            Kind::Literal => join::decode_at(hay, start, out),
            Kind::Rot13 => rot13::decode_at(hay, start, out),
            Kind::Reverse => reverse::decode_at(hay, start, out),
            Kind::Charcode => charcodes::decode_at(hay, start, out),
        };
        done[slot] = done[slot].max(end);
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
    fn every_kind_has_triggers_and_they_fit_a_fast_search() {
        let t = triggers();
        assert!(t.kinds.len() <= 64, "{} triggers", t.kinds.len());
        for kind in [Kind::Literal, Kind::Rot13, Kind::Reverse, Kind::Charcode] {
            assert!(t.kinds.contains(&kind), "{kind:?}");
        }
    }
}
