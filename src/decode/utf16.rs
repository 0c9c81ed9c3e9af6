//! UTF-16 without a byte-order mark, recognised by its pattern of zero bytes: text
//! that is mostly ASCII has a zero in every other byte, the odd ones for little
//! endian (what Windows tools write), the even ones for big endian.
//!
//! A whole file in UTF-16 is recognised by its first bytes ([`detect`]) and
//! transcoded by the sources before anything else, so that its lines and columns
//! are those an editor shows. Strings of UTF-16 inside other binary content (a
//! registry export, an executable's resources) are runs ([`Utf16Runs`]), decoded as
//! a layer like any other.

use super::segment::MIN_DECODED;
use super::{is_text, Decoder, Layer, Piece};

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
    if units < MIN_UNITS {
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
    fn layer(&self) -> Layer {
        Layer::Utf16
    }

    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        if memchr::memchr(0, hay).is_none() {
            return;
        }
        // Little endian runs are `c 0 c 0 …`; big endian ones `0 c 0 c …`, the same
        // pattern one byte on. Each zero at `z` closes a unit `(z - 1, z)` read little
        // endian; a run read big endian starts one byte later.
        let mut run_start: Option<usize> = None;
        let mut last_zero = 0usize;
        let flush = |start: usize, last_zero: usize, out: &mut Vec<Piece>| {
            // Read little endian, the run is `start..=last_zero`; big endian (its
            // first byte is the zero), the last zero's character follows it.
            let big = hay[start] == 0;
            let end = if !big {
                last_zero + 1
            } else if hay.get(last_zero + 1).is_some_and(|&c| printable(c)) {
                last_zero + 2
            } else {
                last_zero
            };
            let units = (end - start) / 2;
            if units < MIN_UNITS {
                return;
            }
            let mut piece = Piece::default();
            for k in 0..units {
                let at = start + 2 * k;
                piece.bytes.push(if big { hay[at + 1] } else { hay[at] });
                piece.spans.push((at as u32, at as u32 + 2));
            }
            if is_text(&piece.bytes) {
                out.push(piece);
            }
        };
        for z in memchr::memchr_iter(0, hay) {
            let continues = run_start.is_some() && z == last_zero + 2;
            let unit_ok = z >= 1 && printable(hay[z - 1]);
            if continues && unit_ok {
                last_zero = z;
                continue;
            }
            if let Some(start) = run_start.take() {
                flush(start, last_zero, out);
            }
            if unit_ok {
                run_start = Some(z - 1);
                last_zero = z;
            } else if z + 1 < hay.len() && printable(hay[z + 1]) {
                // A big-endian run's first unit: its zero comes first.
                run_start = Some(z);
                last_zero = z;
            }
        }
        if let Some(start) = run_start {
            flush(start, last_zero, out);
        }
    }
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
