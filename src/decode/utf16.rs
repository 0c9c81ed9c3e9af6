//! UTF-16 without a byte-order mark, recognised by its pattern of zero bytes: text
//! that is mostly ASCII has a zero in every other byte, the odd ones for little
//! endian (what Windows tools write), the even ones for big endian.
//!
//! A whole file in UTF-16 is recognised by its first bytes ([`detect`]) and
//! transcoded by the sources before anything else, so that its lines and columns
//! are those an editor shows. Strings of UTF-16 inside other binary content (a
//! registry export, an executable's resources) are runs ([`Utf16Runs`]), decoded as
//! a layer like any other.

use super::segment::{self, MIN_DECODED};
use super::{Decoder, Layer, Piece};

/// Bytes looked at to call a whole file UTF-16.
const SNIFF: usize = 1024;
/// Characters in a run of UTF-16 worth decoding.
const MIN_UNITS: usize = MIN_DECODED;

/// The encoding of content that is UTF-16 without a byte-order mark, judged by its
/// first bytes: at least 16 characters, nearly all of whose high bytes are zero on
/// one side and whose low bytes are not.
pub fn detect(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(SNIFF) & !1];
    let units = head.len() / 2;
    // Most content has no zero byte at all, and is told so at once.
    if units < MIN_UNITS || memchr::memchr(0, head).is_none() {
        return None;
    }
    let (mut even_zero, mut odd_zero) = (0, 0);
    for pair in head.chunks_exact(2) {
        even_zero += usize::from(pair[0] == 0);
        odd_zero += usize::from(pair[1] == 0);
    }
    // Nine in ten units ASCII, and the other side never zero (a run of zeros is
    // binary, not text).
    let enough = units * 9 / 10;
    if odd_zero >= enough && even_zero == 0 {
        Some(encoding_rs::UTF_16LE)
    } else if even_zero >= enough && odd_zero == 0 {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Runs of UTF-16 ASCII text inside other content.
pub struct Utf16Runs;

fn printable(b: u8) -> bool {
    (0x20..0x7F).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t')
}

impl Decoder for Utf16Runs {
    fn reads_binary(&self) -> bool {
        true
    }

    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        if memchr::memchr(0, hay).is_none() || is_compiled_python(hay) {
            return;
        }
        // A skip loop over pairs: every window of `2 * MIN_UNITS` bytes of UTF-16
        // ASCII holds, at each of its positions, a character beside a zero. So when
        // the pair near a window's end is not one, no run starts before it, and the
        // loop moves on a window's length: zero padding and random bytes alike are
        // crossed a look per window.
        let n = hay.len();
        let window = 2 * MIN_UNITS;
        let mut i = 0;
        while i + window <= n {
            let p = i + window - 2;
            let (a, b) = (hay[p], hay[p + 1]);
            if !((a == 0 && printable(b)) || (b == 0 && printable(a))) {
                i = p + 1;
                continue;
            }
            // `c 0 c 0` reads as units `(c, 0)` or, one byte on, `(0, c)`: the two
            // readings hold the same characters but for one at an end, so both are
            // followed and the longer kept.
            let zero = if a == 0 { p } else { p + 1 };
            let readings = [(zero.wrapping_sub(1), 1isize), (zero + 1, -1isize)];
            let best = readings
                .iter()
                .filter_map(|&(c, side)| {
                    extent(hay, c, side).map(|(first, last)| (first, last, side))
                })
                .max_by_key(|&(first, last, _)| last - first);
            let Some((first, last, side)) = best else {
                i = p + 1;
                continue;
            };
            if (last - first) / 2 + 1 >= MIN_UNITS {
                // Windows of an even length and step keep to the characters.
                for window in segment::windows(first..last + 1) {
                    let mut piece = Piece::new(Layer::Utf16);
                    for at in window.step_by(2) {
                        // The unit is the character and its zero, in either order.
                        let from = if side < 0 { at - 1 } else { at } as u32;
                        piece.bytes.push(hay[at]);
                        piece.spans.push((from, from + 2));
                    }
                    if piece.bytes.len() >= MIN_UNITS {
                        out.push(piece);
                    }
                }
            }
            i = (last + 1).max(p + 1);
        }
    }
}

/// True for compiled Python (`.pyc`): a magic number ending in `\r\n`, a header of
/// 8, 12 or 16 bytes (by version), then the module's code object (marshal type `c`,
/// with or without its reference flag). Marshal stores every string as UTF-8 or
/// Latin-1, never as UTF-16, and compiled Python is most of the binary bytes of a
/// Python installation: the search for UTF-16 runs passes it over.
fn is_compiled_python(hay: &[u8]) -> bool {
    hay.get(2..4) == Some(b"\r\n")
        && [8, 12, 16]
            .iter()
            .any(|&at| matches!(hay.get(at), Some(b'c' | 0xE3)))
}

/// The first and last character of the run of units through the character at `c`,
/// each with its zero at `side` from it; `None` if `c` is no such unit.
fn extent(hay: &[u8], c: usize, side: isize) -> Option<(usize, usize)> {
    let unit = |at: usize| -> bool {
        let z = at as isize + side;
        z >= 0 && hay.get(at).is_some_and(|&b| printable(b)) && hay.get(z as usize) == Some(&0)
    };
    if !unit(c) {
        return None;
    }
    let mut first = c;
    while first >= 2 && unit(first - 2) {
        first -= 2;
    }
    let mut last = c;
    while unit(last + 2) {
        last += 2;
    }
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn be(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn whole_files_are_recognised() {
        let text = "OPENAI_API_KEY=sk-abcdefghijklmnopqrst\r\n";
        assert_eq!(detect(&le(text)), Some(encoding_rs::UTF_16LE));
        assert_eq!(detect(&be(text)), Some(encoding_rs::UTF_16BE));
        assert_eq!(detect(text.as_bytes()), None);
        assert_eq!(detect(&[0u8; 4096]), None);
    }

    #[test]
    fn compiled_python_is_passed_over() {
        let text = "api_key=sk-abcdefghijklmnop";
        // A Python 3.11 header: magic, flags, mtime and size, then a code object.
        let mut pyc = vec![0xA7, 0x0D, b'\r', b'\n', 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        pyc.push(0xE3);
        pyc.extend(le(text));
        let mut out = Vec::new();
        Utf16Runs.decode(&pyc, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // The same bytes with another header are searched.
        pyc[16] = 0x01;
        Utf16Runs.decode(&pyc, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes, text.as_bytes());
    }

    #[test]
    fn runs_inside_binary_decode() {
        let text = "api_key=sk-abcdefghijklmnop";
        for bytes in [le(text), be(text)] {
            let mut hay = vec![0xFF, 0x01, 0x02, 0x00, 0x00, 0x00, 0x07];
            let at = hay.len();
            hay.extend(&bytes);
            hay.extend([0x00, 0x00, 0x9A, 0x00, 0x00]);
            let mut out = Vec::new();
            Utf16Runs.decode(&hay, &mut out);
            let found: Vec<&Piece> = out.iter().filter(|p| p.bytes.len() >= 16).collect();
            assert_eq!(found.len(), 1, "{out:?}");
            assert_eq!(found[0].bytes, text.as_bytes());
            assert_eq!(found[0].spans[0].0 as usize, at);
        }
    }
}
