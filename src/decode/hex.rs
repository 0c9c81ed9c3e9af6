//! Hex: runs of at least [`MIN_RUN`] hex digits, decoded two digits a byte and kept
//! when they decode to text. Hashes, ids and checksums decode to random bytes and
//! give nothing.

use super::segment::{self, hex_value, Class, MIN_DECODED};
use super::{is_text, Decoder, Layer, Piece};

/// Hex digits in a run that can hold a key: 16 bytes.
const MIN_RUN: usize = 32;

const DIGITS: Class = segment::class(&[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')]);

pub struct Hex;

impl Decoder for Hex {
    fn layer(&self) -> Layer {
        Layer::Hex
    }

    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        segment::runs(hay, &DIGITS, MIN_RUN, |run| {
            // An odd run has a stray digit at one end: try both.
            for start in [run.start, run.start + run.len() % 2] {
                let digits = &hay[start..run.end - (run.end - start) % 2];
                let bytes: Vec<u8> = digits
                    .chunks_exact(2)
                    .map(|pair| {
                        hex_value(pair[0]).unwrap_or(0) << 4 | hex_value(pair[1]).unwrap_or(0)
                    })
                    .collect();
                if bytes.len() >= MIN_DECODED && is_text(&bytes) {
                    let spans = (0..bytes.len())
                        .map(|k| ((start + 2 * k) as u32, (start + 2 * k + 2) as u32))
                        .collect();
                    out.push(Piece { bytes, spans });
                    return;
                }
                if run.len() % 2 == 0 {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(hay: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        Hex.decode(hay.as_bytes(), &mut out);
        out
    }

    #[test]
    fn hex_text_decodes_and_hashes_do_not() {
        let plain = "api_key=sk-test-0123456789";
        let encoded: String = plain.bytes().map(|b| format!("{b:02x}")).collect();
        let hay = format!("x = \"{encoded}\"");
        let found = pieces(&hay);
        assert_eq!(found[0].bytes, plain.as_bytes());
        assert_eq!(found[0].spans[0], (5, 7));
        assert_eq!(
            pieces(&format!("x = 0{encoded}"))[0].bytes,
            plain.as_bytes()
        );
        assert!(
            pieces("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .is_empty()
        );
        assert!(pieces("0123456789012345678901234567890123456789").is_empty());
    }
}
