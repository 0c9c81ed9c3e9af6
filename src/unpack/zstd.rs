//! zstd, with the pure-Rust `ruzstd` decoder (no C library to build). One frame is
//! read, which is what `zstd` writes for a file.

use std::cell::Cell;
use std::io::{self, Read};

use super::{one_stream, Counting, Limits, Member, Unpacker};

pub struct Zstd;

impl Unpacker for Zstd {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        let packed = Cell::new(0);
        let counting = Counting {
            inner: input,
            count: &packed,
        };
        let mut decoder = ruzstd::StreamingDecoder::new(counting)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))?;
        one_stream(&mut decoder, &packed, each)
    }
}
