//! Character codes: a key written as the numbers of its characters, decimal or hex,
//! with any separators and line breaks between them (`[115, 107, 45, …]`,
//! `String.fromCharCode(115,107,…)`, `chr(115)+chr(107)`, `0x73, 0x6b, …`). A run
//! is read only where its first codes spell a key's prefix (see
//! [`super::disguise`]), and only codes of printable ASCII count: pixel data, lookup
//! tables and test vectors give nothing.

use super::disguise::PREFIXES;
use super::segment::{hex_number, MIN_DECODED};
use super::{Layer, Piece};

/// The first code of each prefix, as the automaton looks for it: three digits or a
/// hex code, as two decimal digits would stop the automaton at every other number
/// of a data file (so `AKIA…` and `T3Blbk…` are read only in hex).
pub const FIRST_CODES: &[&str] = &[
    "115", "103", "120", "104", "110", "112", "119", "114", "0x73", "0x67", "0x78", "0x68", "0x41",
    "0x54",
];

/// Most non-digit bytes between two codes (`)+chr(`, `, `, a line break and indent).
const MAX_SEPARATOR: usize = 12;
/// Most codes read.
const MAX_CODES: usize = 512;

/// One code at `at`: its value and where it ends.
fn code_at(hay: &[u8], at: usize) -> Option<(u32, usize)> {
    if hay
        .get(at..at + 2)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"0x"))
    {
        let len = hay[at + 2..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        return Some((hex_number(&hay[at + 2..at + 2 + len])?, at + 2 + len));
    }
    let len = hay[at..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if len == 0 || len > 3 {
        return None;
    }
    let value = std::str::from_utf8(&hay[at..at + len]).ok()?.parse().ok()?;
    Some((value, at + len))
}

/// Reads the run of codes starting at `at`; returns where it ends.
pub fn decode_at(hay: &[u8], at: usize, out: &mut Vec<Piece>) -> usize {
    // A code starts a number: not the tail of a longer one, nor of a name.
    if at > 0 && (hay[at - 1].is_ascii_alphanumeric() || hay[at - 1] == b'.') {
        return at + 1;
    }
    let mut piece = Piece::new(Layer::Charcodes);
    let mut pos = at;
    while piece.bytes.len() < MAX_CODES {
        let Some((value, end)) = code_at(hay, pos) else {
            break;
        };
        let Ok(byte) = u8::try_from(value) else { break };
        if !(0x20..0x7F).contains(&byte) {
            break;
        }
        piece.bytes.push(byte);
        piece.spans.push((pos as u32, end as u32));
        // The first codes must spell a prefix, or this is some other list.
        if piece.bytes.len() <= 4
            && !PREFIXES.iter().any(|p| {
                p.as_bytes().starts_with(&piece.bytes) || piece.bytes.starts_with(p.as_bytes())
            })
        {
            return end;
        }
        let gap = hay[end..]
            .iter()
            .take(MAX_SEPARATOR + 1)
            .take_while(|b| !b.is_ascii_digit())
            .count();
        if gap == 0 || gap > MAX_SEPARATOR || end + gap >= hay.len() {
            pos = end;
            break;
        }
        pos = end + gap;
    }
    if piece.bytes.len() >= MIN_DECODED {
        out.push(piece);
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let at = text.find(|c: char| c.is_ascii_digit()).unwrap();
        decode_at(text.as_bytes(), at, &mut out);
        out.into_iter()
            .map(|p| String::from_utf8(p.bytes).unwrap())
            .collect()
    }

    #[test]
    fn codes_in_any_notation_are_read() {
        let key = "sk-abcdEFGH01234567";
        let list: Vec<String> = key.bytes().map(|b| b.to_string()).collect();
        assert_eq!(decoded(&format!("k = [{}]", list.join(", "))), [key]);
        assert_eq!(
            decoded(&format!("String.fromCharCode({})", list.join(",\n    "))),
            [key]
        );
        let chr: Vec<String> = key.bytes().map(|b| format!("chr({b})")).collect();
        assert_eq!(decoded(&format!("k = {}", chr.join(" + "))), [key]);
        let hex: Vec<String> = key.bytes().map(|b| format!("0x{b:02x}")).collect();
        assert_eq!(decoded(&format!("{{{}}}", hex.join(", "))), [key]);
    }

    #[test]
    fn other_lists_give_nothing() {
        assert!(decoded("pixels = [115, 0, 255, 115, 115, 115, 12, 9]").is_empty());
        assert!(decoded(
            "table = [115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 65, 66, 67, 68]"
        )
        .is_empty());
    }
}
