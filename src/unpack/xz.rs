//! xz, with the pure-Rust `lzma-rs` decoder. It writes into a `Write` rather than
//! being read from, so the content is held in a buffer that stops growing at the
//! member limit (or when the ratio limit says the stream is a bomb); the buffer is
//! then handed over as the stream's one member, and the caps apply to it as usual.

use std::cell::Cell;
use std::io::{self, BufReader, Read, Write};

use super::{one_stream, Counting, Limits, Member, Unpacker, RATIO_FLOOR};

pub struct Xz;

impl Unpacker for Xz {
    fn members(
        &self,
        input: &mut dyn Read,
        limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        let packed = Cell::new(0);
        let mut reader = BufReader::new(Counting {
            inner: input,
            count: &packed,
        });
        let mut out = Bounded {
            bytes: Vec::new(),
            // One byte past the member limit, so that the cap downstream sees it hit.
            cap: limits
                .member_bytes
                .min(limits.archive_bytes)
                .saturating_add(1),
            packed: &packed,
            ratio: limits.ratio,
            full: false,
        };
        let result = lzma_rs::xz_decompress(&mut reader, &mut out);
        let full = out.full;
        let mut content = io::Cursor::new(out.bytes);
        if let Err(err) = result {
            if !full {
                // Hand over what was decoded before the damage, then name it.
                one_stream(&mut content, &packed, each)?;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{err:?}"),
                ));
            }
        }
        one_stream(&mut content, &packed, each)
    }
}

/// A buffer that refuses bytes past `cap`, or once it holds more than `ratio` times
/// the compressed bytes read.
struct Bounded<'a> {
    bytes: Vec<u8>,
    cap: u64,
    packed: &'a Cell<u64>,
    ratio: u64,
    full: bool,
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let held = self.bytes.len() as u64;
        let bomb = held > RATIO_FLOOR && held / self.packed.get().max(1) > self.ratio;
        if held >= self.cap || bomb {
            self.full = true;
            return Err(io::Error::other("limit reached"));
        }
        let n = buf
            .len()
            .min(usize::try_from(self.cap - held).unwrap_or(usize::MAX));
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
