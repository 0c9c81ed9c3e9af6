//! What the decoders share: finding the runs of an alphabet (base64, hex) and the
//! stretches of a line around escape sequences (percent, `\u`, HTML), and turning
//! such a stretch into a [`Piece`] with each decoded byte mapped to its source.
//!
//! Runs are found with a skip loop: a run of at least `min` bytes must cover the byte
//! `min - 1` past any point outside a run, so ordinary text, whose words are short,
//! is crossed `min` bytes a look.

use std::ops::Range;

use super::{is_text, Layer, Piece};

/// Bytes before the first and after the last escape of a stretch that are decoded
/// with it: far more than a key and the name it is assigned to.
pub const REACH: usize = 512;

/// Decoded stretches shorter than this hold no key.
pub const MIN_DECODED: usize = 16;

/// The most bytes of one run decoded as one piece, and how much consecutive pieces
/// of a longer run overlap (more than the longest key's encoding): a run of
/// megabytes (minified code, a dump) costs memory in proportion to this, not to
/// its length. Both are multiples of 4, so base64 pieces keep their alignment.
pub const MAX_PIECE: usize = 64 << 10;
pub const PIECE_OVERLAP: usize = 1 << 10;

/// `run` cut into windows of at most [`MAX_PIECE`] bytes that overlap by
/// [`PIECE_OVERLAP`].
pub fn windows(run: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    let step = MAX_PIECE - PIECE_OVERLAP;
    (run.start..run.end)
        .step_by(step)
        .map(move |start| start..(start + MAX_PIECE).min(run.end))
        .take_while(move |w| w.start == run.start || w.start + PIECE_OVERLAP < run.end)
}

/// A 256-entry byte class.
pub type Class = [bool; 256];

/// The class of the bytes in the inclusive `ranges`.
pub const fn class(ranges: &[(u8, u8)]) -> Class {
    let mut table = [false; 256];
    let mut r = 0;
    while r < ranges.len() {
        let (mut b, last) = ranges[r];
        while b <= last {
            table[b as usize] = true;
            if b == 255 {
                break;
            }
            b += 1;
        }
        r += 1;
    }
    table
}

/// Every maximal run of bytes of `class` at least `min` long, in order.
///
/// A Horspool-like skip loop: a run of `min` starting at or after `i` must cover the
/// byte `i + min - 1`; if that byte is outside the class, the loop jumps past it,
/// and if it is inside, the look goes back from it only as far as the nearest byte
/// outside the class (a word's start, in ordinary text), past which the next run
/// must start. Only a run that is long enough is followed to its end.
pub fn runs(hay: &[u8], class: &Class, min: usize, mut each: impl FnMut(Range<usize>)) {
    let n = hay.len();
    if min == 0 || n < min {
        return;
    }
    // Invariant: `i == 0` or `hay[i - 1]` is outside the class.
    let mut i = 0;
    while i + min <= n {
        let probe = i + min - 1;
        match hay[i..=probe].iter().rposition(|&b| !class[b as usize]) {
            Some(outside) => i += outside + 1,
            None => {
                let mut end = probe + 1;
                while end < n && class[hay[end] as usize] {
                    end += 1;
                }
                each(i..end);
                i = end + 1;
            }
        }
    }
}

/// One escape undone: the bytes it stands for (at most 4) and its length in the
/// source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unescaped {
    pub bytes: [u8; 4],
    pub len: u8,
    pub consumed: usize,
}

impl Unescaped {
    /// True when the escape stands for a printable ASCII character: what keys, the
    /// names they are assigned to and the assignments are made of. Stretches are
    /// decoded only around such escapes; escapes of control characters and of
    /// non-ASCII text (`\x00`, `\u00e9`, `%C3%A9`), everywhere in byte tables and
    /// translations, start none.
    pub fn is_printable_ascii(&self) -> bool {
        self.len == 1 && (0x20..0x7F).contains(&self.bytes[0])
    }

    pub fn byte(b: u8, consumed: usize) -> Unescaped {
        Unescaped {
            bytes: [b, 0, 0, 0],
            len: 1,
            consumed,
        }
    }

    pub fn char(c: char, consumed: usize) -> Unescaped {
        let mut bytes = [0; 4];
        let len = c.encode_utf8(&mut bytes).len() as u8;
        Unescaped {
            bytes,
            len,
            consumed,
        }
    }
}

/// Decodes the stretches of `hay` around `triggers` (ascending positions where an
/// escape starts): each stretch is the trigger's line, cut [`REACH`] bytes before
/// its first and after its last trigger; triggers on one line closer than `REACH`
/// share a stretch. Within a stretch, `unescape` is asked at every byte; what it does
/// not decode is copied as it is. Stretches that decode to text are pushed.
pub fn decode_around(
    layer: Layer,
    hay: &[u8],
    triggers: impl Iterator<Item = usize>,
    unescape: impl Fn(&[u8], usize) -> Option<Unescaped>,
    out: &mut Vec<Piece>,
) {
    let mut triggers = triggers.peekable();
    let mut covered = 0;
    while let Some(first) = triggers.next() {
        if first < covered {
            continue;
        }
        let floor = first.saturating_sub(REACH).max(covered);
        let start = memchr::memrchr(b'\n', &hay[floor..first]).map_or(floor, |p| floor + p + 1);
        let mut last = first;
        while let Some(&next) = triggers.peek() {
            if next > last + REACH || memchr::memchr(b'\n', &hay[last..next]).is_some() {
                break;
            }
            last = next;
            triggers.next();
        }
        let ceiling = last.saturating_add(REACH).min(hay.len());
        let end = memchr::memchr(b'\n', &hay[last..ceiling]).map_or(ceiling, |p| last + p);
        covered = end;
        if let Some(piece) = unescape_stretch(layer, hay, start..end, &unescape) {
            out.push(piece);
        }
    }
}

fn unescape_stretch(
    layer: Layer,
    hay: &[u8],
    stretch: Range<usize>,
    unescape: &impl Fn(&[u8], usize) -> Option<Unescaped>,
) -> Option<Piece> {
    let mut bytes = Vec::with_capacity(stretch.len());
    let mut spans = Vec::with_capacity(stretch.len());
    let mut changed = false;
    let mut i = stretch.start;
    while i < stretch.end {
        match unescape(&hay[..stretch.end], i) {
            Some(u) if u.consumed > 0 => {
                changed = true;
                let span = (i as u32, (i + u.consumed) as u32);
                for &b in &u.bytes[..usize::from(u.len)] {
                    bytes.push(b);
                    spans.push(span);
                }
                i += u.consumed;
            }
            _ => {
                bytes.push(hay[i]);
                spans.push((i as u32, i as u32 + 1));
                i += 1;
            }
        }
    }
    (changed && bytes.len() >= MIN_DECODED && is_text(&bytes)).then_some(Piece {
        under: None,
        layer,
        bytes,
        spans,
    })
}

/// The value of a hex digit.
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The number written by the hex digits `digits`, if they all are.
pub fn hex_number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n << 4 | u32::from(hex_value(d)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORD: Class = class(&[(b'a', b'z'), (b'A', b'Z'), (b'0', b'9')]);

    fn all_runs(hay: &str, min: usize) -> Vec<&str> {
        let mut out = Vec::new();
        runs(hay.as_bytes(), &WORD, min, |r| out.push(&hay[r]));
        out
    }

    #[test]
    fn runs_are_maximal_and_long_enough() {
        assert_eq!(all_runs("ab abcd abcdef x", 4), ["abcd", "abcdef"]);
        assert_eq!(all_runs("abcdefgh", 4), ["abcdefgh"]);
        assert_eq!(all_runs("abc", 4), Vec::<&str>::new());
        assert_eq!(all_runs(" abcd", 4), ["abcd"]);
        assert_eq!(all_runs("abcd abcd", 4), ["abcd", "abcd"]);
        assert_eq!(all_runs("aaaa.bbbbbb.c", 5), ["bbbbbb"]);
    }

    #[test]
    fn long_runs_are_cut_into_overlapping_windows() {
        assert_eq!(windows(10..20).collect::<Vec<_>>(), vec![(10..20)]);
        let long: Vec<_> = windows(0..3 * MAX_PIECE).collect();
        assert_eq!(long[0], 0..MAX_PIECE);
        assert_eq!(long[1].start, MAX_PIECE - PIECE_OVERLAP);
        assert_eq!(long.last().unwrap().end, 3 * MAX_PIECE);
        assert!(long
            .iter()
            .all(|w| w.len() <= MAX_PIECE && w.start % 4 == 0));
        assert!(long.windows(2).all(|p| p[0].end > p[1].start));
    }

    #[test]
    fn stretches_cover_their_triggers_and_map_each_byte() {
        let hay = b"first\nname = a%41b%42c long enough to keep\nlast";
        let mut out = Vec::new();
        let triggers = memchr::memchr_iter(b'%', hay);
        decode_around(
            Layer::Percent,
            hay,
            triggers,
            |h, i| {
                if h[i] != b'%' || i + 2 >= h.len() {
                    return None;
                }
                let byte = hex_value(h[i + 1])? << 4 | hex_value(h[i + 2])?;
                Some(Unescaped::byte(byte, 3))
            },
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes, b"name = aAbBc long enough to keep");
        let a = out[0].bytes.iter().position(|&b| b == b'A').unwrap();
        let (s, e) = out[0].spans[a];
        assert_eq!(&hay[s as usize..e as usize], b"%41");
    }
}
