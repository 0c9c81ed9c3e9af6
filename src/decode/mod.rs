//! Decoding: text that files encode, turned back into the text a key was.
//!
//! Keys stand in files base64-encoded (Kubernetes Secrets, HTTP Basic headers, MIME
//! bodies), hex-encoded, percent-encoded (URLs, proxy and CI logs), escaped (`\u002d`
//! in JSON and JavaScript, `\x2d` in C and Python), as HTML character references
//! (`&#45;`), or in UTF-16 without a byte-order mark. Each [`Decoder`] (one small file
//! a format) finds the runs of its encoding in a piece of content and decodes them
//! into a [`View`]: the decoded bytes and, for each of them, the span of the original
//! content it stands for, so that a finding in decoded text is placed at the encoded
//! span (line, column, the added-lines filter of git sources, inline allows), the way
//! gitleaks' segments map every decoded byte back through each layer.
//!
//! Views are decoded again, up to a depth (`--max-decode-depth`, 3 by default), and
//! each carries the list of its layers, outermost first. What comes next: the
//! sources hand each view to the engine (`crate::engine`) beside the plain content
//! and place its matches through [`View::original`].
//!
//! Decoding never invents content: a view is kept only when it is text (see
//! [`is_text`]), so base64 of random data, images, hashes and binary give nothing,
//! and runs too short to hold a key are not decoded at all.

mod base64;
mod charcodes;
mod disguise;
mod escape;
mod hex;
mod html;
mod join;
mod percent;
mod reverse;
mod rot13;
mod segment;
pub mod utf16;

use std::ops::Range;

use serde::Serialize;

use crate::engine::TriggerHit;

pub use disguise::trigger_patterns;

/// The default `--max-decode-depth`.
pub const DEFAULT_DEPTH: usize = 3;

/// Views of one input hold at most this many decoded bytes in all, whatever the
/// nesting: decoding costs a bounded multiple of the input.
const BUDGET_FACTOR: usize = 4;
const BUDGET_FLOOR: usize = 1 << 20;

/// One encoding, as findings name it (`decoded: ["base64", "percent"]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Base64,
    Hex,
    Percent,
    /// `\uXXXX`, `\u{…}` and `\xNN` escapes (with the escapes that stand beside them).
    Escape,
    /// HTML and XML character references.
    Html,
    /// UTF-16 without a byte-order mark.
    Utf16,
    /// String literals joined (`"sk-pr" + "oj-…"`, a joined array).
    Join,
    /// Character codes (`[115, 107, 45, …]`).
    Charcodes,
    Rot13,
    /// Text written backwards.
    Reverse,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Base64 => "base64",
            Layer::Hex => "hex",
            Layer::Percent => "percent",
            Layer::Escape => "escape",
            Layer::Html => "html",
            Layer::Utf16 => "utf16",
            Layer::Join => "join",
            Layer::Charcodes => "charcodes",
            Layer::Rot13 => "rot13",
            Layer::Reverse => "reverse",
        }
    }
}

/// A decoded run, as a decoder returns it: its encoding, its bytes and, per byte,
/// the range of the decoder's input it came from.
#[derive(Debug, PartialEq)]
pub struct Piece {
    pub layer: Layer,
    /// A second encoding undone in the same step, inside `layer` (base64 pieces of
    /// joined literals, each decoded on its own: `join`, then `base64`).
    pub under: Option<Layer>,
    pub bytes: Vec<u8>,
    pub spans: Vec<(u32, u32)>,
}

impl Piece {
    pub fn new(layer: Layer) -> Piece {
        Piece {
            layer,
            under: None,
            bytes: Vec::new(),
            spans: Vec::new(),
        }
    }
}

/// One encoding's finder and decoder (or two, where one pass finds both).
pub trait Decoder: Sync {
    /// Appends a [`Piece`] for each run of this encoding in `hay` that decodes to
    /// text (`hay` is at most `u32::MAX` bytes long).
    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>);

    /// True when this encoding is worth looking for in binary content (compiled
    /// code, images, databases), where text encodings are noise: UTF-16 strings
    /// are, base64 and escapes are not.
    fn reads_binary(&self) -> bool {
        false
    }

    /// Like [`Decoder::decode`], given the places where the engine's keyword walk met
    /// the trigger patterns in `hay` ([`trigger_patterns`]), when it looked for them.
    /// Only a decoder that starts from triggers uses them.
    fn decode_at_triggers(&self, hay: &[u8], _triggers: &[TriggerHit], out: &mut Vec<Piece>) {
        self.decode(hay, out);
    }
}

/// Bytes looked at to call content binary, as git does: a NUL among them.
const BINARY_SNIFF: usize = 8000;

/// True when git would call `bytes` binary: a NUL in its first 8000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF)]).is_some()
}

/// Every decoder, in the order their views are scanned.
static DECODERS: &[&dyn Decoder] = &[
    // Hex digits are base64 characters too: one pass finds the runs of both.
    &base64::Base64AndHex,
    &percent::Percent,
    &escape::Escape,
    &html::Html,
    &utf16::Utf16Runs,
    &disguise::Disguises,
];

/// Decoded text with the way back to the content it came from.
#[derive(Debug)]
pub struct View {
    pub bytes: Vec<u8>,
    /// For each byte, the range of the original content it stands for.
    spans: Vec<(u32, u32)>,
    /// The encodings undone, outermost first.
    pub layers: Vec<Layer>,
}

impl View {
    /// The range of the original content that `range` of this view was decoded from.
    pub fn original(&self, range: Range<usize>) -> Range<usize> {
        let Some(&first) = self.spans.get(range.start) else {
            return 0..0;
        };
        let last = self.spans[range.end.max(range.start + 1) - 1];
        let (start, end) = cover(first, last);
        start as usize..end as usize
    }
}

/// The span from the first to the last of two spans, in whichever order they stand
/// (reversed text maps its first byte to the last place).
fn cover(a: (u32, u32), b: (u32, u32)) -> (u32, u32) {
    (a.0.min(b.0), a.1.max(b.1))
}

/// Every view of `hay` to `depth` layers, outermost first; each nested view's spans
/// are composed back to `hay`.
///
/// `triggers` are the places where the engine's keyword walk met the patterns of
/// [`trigger_patterns`] in `hay`, when its scanner was built with them
/// (`Scanner::with_triggers`): then the disguises of `hay` itself cost no search of
/// their own. Without them (`None`), the disguise decoder searches `hay` itself, as
/// it always does in the (small) decoded views.
pub fn decode(hay: &[u8], depth: usize, triggers: Option<&[TriggerHit]>, out: &mut Vec<View>) {
    out.clear();
    if depth == 0 || u32::try_from(hay.len()).is_err() {
        return;
    }
    let mut budget = hay.len().saturating_mul(BUDGET_FACTOR).max(BUDGET_FLOOR);
    let mut pieces = Vec::new();
    push_level(hay, None, triggers, &mut pieces, &mut budget, out);
    let mut level_start = 0;
    for _ in 1..depth {
        let level_end = out.len();
        if level_start == level_end {
            break;
        }
        for parent in level_start..level_end {
            // Taken out and put back, so that its children can be pushed beside it.
            let view = std::mem::replace(
                &mut out[parent],
                View {
                    bytes: Vec::new(),
                    spans: Vec::new(),
                    layers: Vec::new(),
                },
            );
            push_level(
                &view.bytes,
                Some(&view),
                None,
                &mut pieces,
                &mut budget,
                out,
            );
            out[parent] = view;
        }
        level_start = level_end;
    }
}

/// Runs every decoder over `hay` (the root content, or a view of it) and pushes the
/// views found, with spans composed through `parent`.
fn push_level(
    hay: &[u8],
    parent: Option<&View>,
    triggers: Option<&[TriggerHit]>,
    pieces: &mut Vec<Piece>,
    budget: &mut usize,
    out: &mut Vec<View>,
) {
    // Views are text by construction; binary content gets only the decoders that
    // read it.
    let binary = parent.is_none() && is_binary(hay);
    for decoder in DECODERS {
        if binary && !decoder.reads_binary() {
            continue;
        }
        pieces.clear();
        match triggers {
            Some(hits) => decoder.decode_at_triggers(hay, hits, pieces),
            None => decoder.decode(hay, pieces),
        }
        for piece in pieces.drain(..) {
            if piece.bytes.len() > *budget {
                return;
            }
            *budget -= piece.bytes.len();
            let (spans, mut layers) = match parent {
                None => (piece.spans, Vec::with_capacity(1)),
                Some(parent) => {
                    let spans = piece
                        .spans
                        .iter()
                        .map(|&(s, e)| {
                            let first = parent.spans[s as usize];
                            let last = parent.spans[(e as usize).max(s as usize + 1) - 1];
                            cover(first, last)
                        })
                        .collect();
                    (spans, parent.layers.clone())
                }
            };
            layers.push(piece.layer);
            layers.extend(piece.under);
            out.push(View {
                bytes: piece.bytes,
                spans,
                layers,
            });
        }
    }
}

/// True when decoded bytes read as text: valid UTF-8 with no control characters but
/// white space, allowing a stray few (1 in 50). Random data, compressed data,
/// images and hashes fail it at once.
pub fn is_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let allowed = bytes.len() / 50;
    let mut bad = 0usize;
    for chunk in bytes.utf8_chunks() {
        bad += chunk.invalid().len();
        for c in chunk.valid().chars() {
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                bad += 1;
            }
        }
        if bad > allowed {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(text: &[u8], depth: usize) -> Vec<View> {
        let mut out = Vec::new();
        decode(text, depth, None, &mut out);
        out
    }

    #[test]
    fn text_is_text_and_noise_is_not() {
        assert!(is_text(b"OPENAI_API_KEY=sk-abc\n"));
        assert!(is_text("clé = 'valeur'\r\n\t".as_bytes()));
        assert!(!is_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!is_text(&[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04]));
        assert!(!is_text(b""));
    }

    /// Random inputs made of the bytes that the decoders look at (quotes, escapes,
    /// digits, separators, zeros, prefixes and their disguises) never panic, and
    /// every view maps each of its bytes inside the input.
    #[test]
    fn random_inputs_decode_without_panics_and_map_inside() {
        let atoms: &[&[u8]] = &[
            b"\"",
            b"'",
            b"`",
            b"+",
            b".",
            b"..",
            b",",
            b"[",
            b"]",
            b".join(''",
            b"(",
            b")",
            b"\\",
            b"\\u",
            b"\\x",
            b"\\u{",
            b"}",
            b"%",
            b"%2D",
            b"&#",
            b"&#x",
            b";",
            b"&amp;",
            b"0",
            b"7",
            b"115",
            b"107",
            b"45",
            b"0x73",
            b" ",
            b"\n",
            b"\r\n",
            b"\0",
            b"\0\0",
            b"sk-",
            b"c2st",
            b"fx-cebw-",
            b"-jorp-ks",
            b"T3BlbkFJ",
            b"=",
            b"==",
            b"A",
            b"z",
            b"Q",
            b"/",
            b"_",
            b"-",
            b"\xff",
            b"\xc3\xa9",
            b"D83D",
            b"DE00",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = Vec::new();
        for _ in 0..3000 {
            let mut hay = Vec::new();
            let parts = next() % 120;
            for _ in 0..parts {
                let atom = atoms[(next() % atoms.len() as u64) as usize];
                let repeat = if next() % 8 == 0 { next() % 40 } else { 1 };
                for _ in 0..repeat {
                    hay.extend_from_slice(atom);
                }
            }
            decode(&hay, 3, None, &mut out);
            for view in &out {
                assert_eq!(view.bytes.len(), view.spans.len());
                for i in 0..view.bytes.len() {
                    let place = view.original(i..i + 1);
                    assert!(place.start < place.end && place.end <= hay.len());
                }
            }
        }
    }

    #[test]
    fn nested_layers_map_back_to_the_outer_text() {
        // base64 of `token=a%2Db%2Dc%2Dd%2De%2Df%2Dg%2Dh%2Di`
        let inner = b"token=a%2Db%2Dc%2Dd%2De%2Df%2Dg%2Dh%2Di";
        let encoded = base64::encode_for_tests(inner);
        let text = format!("x: {encoded}\n");
        let all = views(text.as_bytes(), 3);
        let nested = all
            .iter()
            .find(|v| v.layers == [Layer::Base64, Layer::Percent])
            .expect("a base64 view decoded again as percent");
        assert_eq!(nested.bytes, b"token=a-b-c-d-e-f-g-h-i");
        let whole = nested.original(0..nested.bytes.len());
        assert_eq!(&text[whole], encoded.as_str());
        assert!(views(text.as_bytes(), 1)
            .iter()
            .all(|v| v.layers.len() == 1));
        assert!(views(text.as_bytes(), 0).is_empty());
    }
}
