//! Hex: runs of at least [`MIN_RUN`] hex digits, decoded two digits a byte and kept
//! when they decode to text. Hashes, ids and checksums decode to random bytes and
//! give nothing. Hex digits are base64 characters, so the base64 pass
//! ([`super::base64`]) finds the runs and hands them here.

use std::ops::Range;

use super::segment::{self, hex_value, MIN_DECODED};
use super::{is_text, Layer, Piece};

/// Hex digits in a run that can hold a key: 16 bytes.
pub const MIN_RUN: usize = 32;

/// Decodes the runs of at least [`MIN_RUN`] hex digits inside `within`.
pub fn decode_runs(hay: &[u8], within: Range<usize>, out: &mut Vec<Piece>) {
    // Most runs of base64 characters are names, whose letters past `f` let the skip
    // loop cross them a few bytes a look.
    let start = within.start;
    segment::runs(&hay[within], &HEX_DIGITS, MIN_RUN, |run| {
        decode_run(hay, start + run.start..start + run.end, out);
    });
}

const HEX_DIGITS: segment::Class = segment::class(&[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')]);

/// Decodes one run of hex digits; an odd run has a stray digit at one end, so both
/// readings are tried.
fn decode_run(hay: &[u8], run: Range<usize>, out: &mut Vec<Piece>) {
    let byte =
        |at: usize| hex_value(hay[at]).unwrap_or(0) << 4 | hex_value(hay[at + 1]).unwrap_or(0);
    let starts: &[usize] = if run.len() % 2 == 0 {
        &[run.start]
    } else {
        &[run.start, run.start + 1]
    };
    for &start in starts {
        let count = (run.end - start) / 2;
        // Hashes and ids fail within their first bytes: look before allocating.
        let text = |b: u8| matches!(b, 0x20..=0x7E | b'\n' | b'\r' | b'\t');
        if !(0..count.min(8)).all(|k| text(byte(start + 2 * k))) {
            continue;
        }
        let bytes: Vec<u8> = (0..count).map(|k| byte(start + 2 * k)).collect();
        if bytes.len() >= MIN_DECODED && is_text(&bytes) {
            let spans = (0..count)
                .map(|k| ((start + 2 * k) as u32, (start + 2 * k + 2) as u32))
                .collect();
            out.push(Piece {
                under: None,
                layer: Layer::Hex,
                bytes,
                spans,
            });
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(hay: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        decode_runs(hay.as_bytes(), 0..hay.len(), &mut out);
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
        assert_eq!(
            pieces(&format!("x = {encoded}0"))[0].bytes,
            plain.as_bytes()
        );
        assert!(
            pieces("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .is_empty()
        );
        assert!(pieces("0123456789012345678901234567890123456789").is_empty());
    }
}
