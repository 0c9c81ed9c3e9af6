//! Base64, standard and URL-safe, padded or not, and wrapped over lines (MIME at 76
//! columns, PEM at 64); and, in the same pass, the runs of hex digits among them.
//!
//! A run of the alphabet of either flavour (they differ in two characters, so one
//! lenient table reads both) at least [`MIN_RUN`] long is a candidate; a run that
//! fills a line whose length is a multiple of four goes on at the next line. Hex
//! digits are base64 characters too, so the hex runs inside a run go to
//! [`super::hex`], and a run of hex digits alone is not read as base64. A run is
//! decoded at the first of the four alignments whose first bytes are text (a run may
//! have picked up a few characters of the name before it), and kept only if all of
//! it is text. Finding the runs is most of the cost of decoding: see
//! [`alphabet_runs`].

use super::segment::{self, Class, MIN_DECODED};
use super::{hex, is_text, Decoder, Layer, Piece};

/// Base64 characters in a run that can hold a key: 21 bytes, the shortest keys'
/// length (an AWS key id is 20 characters).
const MIN_RUN: usize = 28;
/// A wrapped line is at least this long.
const MIN_WRAPPED_LINE: usize = 40;
/// Bytes decoded to choose an alignment.
const PROBE: usize = 24;
/// Characters gathered over wrapped lines at most; the lines after them start a run
/// of their own.
const MAX_CHARS: usize = segment::MAX_PIECE;

const ALPHABET: Class = segment::class(&[
    (b'A', b'Z'),
    (b'a', b'z'),
    (b'0', b'9'),
    (b'+', b'+'),
    (b'/', b'/'),
    (b'-', b'-'),
    (b'_', b'_'),
]);

/// The value of a base64 character of either flavour.
fn value(b: u8) -> u8 {
    match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        _ => 63,
    }
}

pub struct Base64AndHex;

impl Decoder for Base64AndHex {
    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        let mut chars: Vec<u32> = Vec::new();
        let mut resume = 0;
        alphabet_runs(hay, |run| {
            if run.len() >= hex::MIN_RUN {
                for window in segment::windows(run.clone()) {
                    hex::decode_runs(hay, window, out);
                }
            }
            if run.start < resume || run.len() < MIN_RUN {
                return;
            }
            if chars.capacity() > 2 * MAX_CHARS {
                chars = Vec::new();
            }
            // A long line is decoded in windows; the last may wrap onto the next lines.
            let mut windows = segment::windows(run).peekable();
            while let Some(window) = windows.next() {
                // Most runs are names and paths, passed over on their first bytes
                // before anything is gathered.
                let last = windows.peek().is_none();
                if !may_hold_text(&hay[window.start..window.end.min(window.start + HEAD)]) {
                    // The lines it wraps onto are no runs of their own either.
                    if last && window.len() >= MIN_WRAPPED_LINE && window.len() % 4 == 0 {
                        chars.clear();
                        resume = gather(hay, window, &mut chars);
                    }
                    continue;
                }
                chars.clear();
                if !last {
                    chars.extend((window.start..window.end).map(|p| p as u32));
                } else {
                    resume = gather(hay, window, &mut chars);
                }
                // All hex digits: the hex decoder reads them.
                if chars.iter().all(|&p| hay[p as usize].is_ascii_hexdigit()) {
                    continue;
                }
                if let Some(piece) = decode_chars(hay, &chars) {
                    out.push(piece);
                }
            }
        });
    }
}

/// The shortest run [`alphabet_runs`] reports.
const MIN_ANY: usize = if MIN_RUN < hex::MIN_RUN {
    MIN_RUN
} else {
    hex::MIN_RUN
};

/// Every maximal run of [`ALPHABET`] at least [`MIN_ANY`] long, in order, as
/// [`segment::runs`] finds them.
fn alphabet_runs(hay: &[u8], each: impl FnMut(std::ops::Range<usize>)) {
    #[cfg(target_arch = "x86_64")]
    sse2::runs(hay, each);
    #[cfg(not(target_arch = "x86_64"))]
    segment::runs(hay, &ALPHABET, MIN_ANY, each);
}

/// The runs of the alphabet found 64 bytes at a time: SSE2 (part of every x86-64
/// processor) marks the alphabet's bytes in 16 at once, and shifts of the 64-bit mask
/// find 28 marked bytes in a row. Where the skip loop of [`segment::runs`] stops at
/// every word of source code to look back over it, with a branch the processor
/// cannot predict, this does the same few steps for every block; on the Python
/// library it finds the same runs in less time.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8,
        _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    use std::ops::Range;

    use super::{ALPHABET, MIN_ANY};

    const _: () = assert!(MIN_ANY == 28, "the shifts below find runs of 28");

    /// One bit for each of the 16 bytes at `chunk` that is in the alphabet.
    fn mask16(chunk: &[u8; 16]) -> u64 {
        // SAFETY: SSE2 is part of the x86-64 baseline, so these instructions exist
        // on every processor this code runs on; the load reads the 16 bytes of
        // `chunk` and needs no alignment.
        unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let letter = _mm_and_si128(
                _mm_cmpgt_epi8(lower, _mm_set1_epi8(0x60)),
                _mm_cmplt_epi8(lower, _mm_set1_epi8(0x7B)),
            );
            // `+` to `9`, less `,` and `.`: `+`, `-`, `/` and the digits.
            let span = _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(0x2A)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x3A)),
            );
            let gaps = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(0x2C)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(0x2E)),
            );
            let underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x5F));
            let all = _mm_or_si128(
                _mm_or_si128(letter, _mm_andnot_si128(gaps, span)),
                underscore,
            );
            u64::from(_mm_movemask_epi8(all) as u16)
        }
    }

    fn mask64(block: &[u8; 64]) -> u64 {
        let part = |k: usize| {
            let chunk: &[u8; 16] = block[16 * k..16 * k + 16]
                .try_into()
                .expect("16 bytes of 64");
            mask16(chunk)
        };
        part(0) | part(1) << 16 | part(2) << 32 | part(3) << 48
    }

    pub fn runs(hay: &[u8], mut each: impl FnMut(Range<usize>)) {
        let in_class = |b: u8| ALPHABET[usize::from(b)];
        let n = hay.len();
        let mut pos = 0;
        // Marked bytes that end the block before `pos`, when it was a whole block.
        let mut carry = 0u32;
        while pos < n {
            let m = match hay.get(pos..pos + 64) {
                Some(block) => mask64(block.try_into().expect("64 bytes")),
                None => hay[pos..]
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| in_class(b))
                    .fold(0u64, |m, (k, _)| m | 1 << k),
            };
            // Bit k of `s`: bytes k to k + 27 of the block are all marked.
            let mut s = m & m >> 1;
            s &= s >> 2;
            s &= s >> 4;
            s &= s >> 8;
            s &= s >> 12;
            let start = if carry > 0 && carry + m.trailing_ones() >= MIN_ANY as u32 {
                // A run from the block before reaches its length here.
                pos - carry as usize
            } else if s != 0 {
                pos + s.trailing_zeros() as usize
            } else {
                carry = match m {
                    u64::MAX => carry + 64,
                    _ if pos + 64 <= n => m.leading_ones(),
                    _ => 0,
                };
                pos += 64;
                continue;
            };
            let mut end = start + MIN_ANY;
            while end < n && in_class(hay[end]) {
                end += 1;
            }
            each(start..end);
            // The byte at `end` is outside the alphabet: the next run starts past it.
            pos = end + 1;
            carry = 0;
        }
    }
}

/// Collects the positions of the characters of the run at `first` and of the lines
/// it wraps onto; returns where the last line's run ends.
fn gather(hay: &[u8], first: std::ops::Range<usize>, chars: &mut Vec<u32>) -> usize {
    let mut run = first;
    loop {
        chars.extend((run.start..run.end).map(|p| p as u32));
        if chars.len() >= MAX_CHARS {
            return run.end;
        }
        let mut next = run.end;
        if hay.get(next) == Some(&b'\r') {
            next += 1;
        }
        // The cheap tests first: the look back to the line's start is the last.
        let wraps = run.len() >= MIN_WRAPPED_LINE
            && run.len() % 4 == 0
            && hay.get(next) == Some(&b'\n')
            && hay[..run.start]
                .iter()
                .rev()
                .take_while(|&&b| b != b'\n')
                .all(|&b| b == b' ' || b == b'\t');
        if !wraps {
            return run.end;
        }
        next += 1;
        while matches!(hay.get(next), Some(b' ' | b'\t')) {
            next += 1;
        }
        let len = hay[next..]
            .iter()
            .take_while(|&&b| ALPHABET[b as usize])
            .count();
        if len == 0 {
            return run.end;
        }
        run = next..next + len;
    }
}

/// Characters of a run that [`may_hold_text`] looks at.
const HEAD: usize = 32;

/// True when a run whose first characters are `head` can be base64 of text, judged
/// without decoding it. Base64 of ASCII text begins each group of four with a
/// character of `I`-`Z` or `a`-`f` (the top six bits of a byte below 0x80), so
/// uppercase letters are never rare in it: runs without them (`snake_case_names`,
/// paths, lowercase hex) are passed over.
fn may_hold_text(head: &[u8]) -> bool {
    head.iter().filter(|b| b.is_ascii_uppercase()).count() * 8 >= head.len()
}

/// Decodes the characters at `chars`, choosing the alignment; `None` when no
/// alignment gives text.
fn decode_chars(hay: &[u8], chars: &[u32]) -> Option<Piece> {
    let shift = (0..4).find(|&shift| probe_is_text(hay, &chars[shift.min(chars.len())..]))?;
    let chars = &chars[shift..];
    let bytes = decode_bytes(hay, chars);
    if bytes.len() < MIN_DECODED || !is_text(&bytes) {
        return None;
    }
    Some(piece(chars, bytes))
}

/// The piece of `bytes` decoded from the characters at `chars`.
fn piece(chars: &[u32], bytes: Vec<u8>) -> Piece {
    // Byte k holds bits 8k..8k+8 of the stream: characters 8k/6 to (8k+7)/6.
    let spans = (0..bytes.len())
        .map(|k| (chars[8 * k / 6], chars[(8 * k + 7) / 6] + 1))
        .collect();
    Piece {
        under: None,
        layer: Layer::Base64,
        bytes,
        spans,
    }
}

/// True when the first [`PROBE`] bytes that `chars` decode to could be text: no
/// control character but white space, and at most a quarter of them above ASCII.
/// Most runs (identifiers, paths, random data) fail within a few bytes, and nothing
/// is allocated to find out.
fn probe_is_text(hay: &[u8], chars: &[u32]) -> bool {
    let mut acc = 0u32;
    let mut bits = 0;
    let mut seen = 0;
    let mut high = 0;
    for &p in chars {
        acc = acc << 6 | u32::from(value(hay[p as usize]));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let b = (acc >> bits) as u8;
            if (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) || b == 0x7F {
                return false;
            }
            high += usize::from(b >= 0x80);
            seen += 1;
            if seen == PROBE {
                break;
            }
        }
    }
    seen > 0 && high * 4 <= seen
}

fn decode_bytes(hay: &[u8], chars: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chars.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &p in chars {
        acc = acc << 6 | u32::from(value(hay[p as usize]));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Decodes `range` of `hay` as one base64 string of its own (a literal): the
/// alphabet of either flavour, a length that is a multiple of four and at most two
/// `=` at its end. Each decoded byte is mapped to the characters it came from.
pub fn decode_padded(hay: &[u8], range: std::ops::Range<usize>) -> Option<Piece> {
    let text = &hay[range.clone()];
    let body = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    if text.len() % 4 != 0 || body.is_empty() || !body.iter().all(|&b| ALPHABET[usize::from(b)]) {
        return None;
    }
    let chars: Vec<u32> = (range.start..range.start + body.len())
        .map(|p| p as u32)
        .collect();
    let bytes = decode_bytes(hay, &chars);
    Some(piece(&chars, bytes))
}

/// Standard base64 with padding, for tests across the decoding stage.
#[cfg(test)]
pub fn encode_for_tests(bytes: &[u8]) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(STD[(n >> (18 - 6 * i) & 63) as usize]));
        }
        out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(hay: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        Base64AndHex.decode(hay.as_bytes(), &mut out);
        out.retain(|p| p.layer == Layer::Base64);
        out
    }

    #[test]
    fn runs_decode_and_map_to_their_characters() {
        let plain = "OPENAI_API_KEY=sk-test-abcdefghijklmnop\n";
        let encoded = encode_for_tests(plain.as_bytes());
        let hay = format!("data:\n  env: {encoded}\n");
        let found = pieces(&hay);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].bytes, plain.as_bytes());
        let at = hay.find(&encoded).unwrap();
        assert_eq!(found[0].spans[0], (at as u32, at as u32 + 2));
        let (_, last) = *found[0].spans.last().unwrap();
        assert!(last as usize <= at + encoded.len());
    }

    #[test]
    fn url_safe_unpadded_and_misaligned_runs_decode() {
        let plain = b"???>>>token: some text here";
        let encoded = encode_for_tests(plain)
            .replace('+', "-")
            .replace('/', "_")
            .replace('=', "");
        assert!(encoded.contains('_') || encoded.contains('-'));
        assert_eq!(pieces(&format!("\"{encoded}\""))[0].bytes, plain);
        // Two characters of a name glued before the run.
        assert_eq!(pieces(&format!("ab{encoded}"))[0].bytes, plain);
    }

    #[test]
    fn wrapped_lines_join() {
        let plain =
            "a line of text that is long enough to wrap over two lines of base64 for sure\n";
        let encoded = encode_for_tests(plain.as_bytes());
        let wrapped = format!("{}\n{}\n", &encoded[..76], &encoded[76..]);
        assert_eq!(pieces(&wrapped)[0].bytes, plain.as_bytes());
        let indented = format!("  {}\r\n  {}\n", &encoded[..76], &encoded[76..]);
        assert_eq!(pieces(&indented)[0].bytes, plain.as_bytes());
    }

    /// The runs found 64 bytes at a time are those of the skip loop, on inputs made
    /// of runs of every length around the minimum, across block edges.
    #[test]
    fn block_runs_are_the_skip_loop_runs() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mut hay = Vec::new();
            let len = (next() % 400) as usize;
            while hay.len() < len {
                let run = (next() % 70) as usize;
                hay.extend((0..run).map(|i| b"aZ09+/-_"[(i + run) % 8]));
                hay.push(b" .,\n=\xff"[(next() % 6) as usize]);
            }
            let mut want = Vec::new();
            segment::runs(&hay, &ALPHABET, MIN_ANY, |r| want.push(r));
            let mut got = Vec::new();
            alphabet_runs(&hay, |r| got.push(r));
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&hay));
        }
    }

    #[test]
    fn noise_and_hex_give_nothing() {
        assert!(pieces("GoogleCloudAiplatformV1beta1SecretEnvVar").is_empty());
        assert!(pieces("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==").is_empty());
        assert!(
            pieces("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").is_empty()
        );
        assert!(pieces("short c2stYWJj").is_empty());
    }
}
