//! xz, read as a stream with the pure-Rust `lzma-rust2` decoder (concatenated streams
//! too). Its dictionary is refused past 64 MiB (what `xz -9` uses), so a stream that
//! claims a huge one cannot make keygate allocate it.

use std::io::{self, Read};

use super::{one_stream, Limits, Member, Unpacker};

/// Largest dictionary (and decoder state) allowed, in KiB.
pub(super) const MEMORY_KIB: u32 = 65 << 10;

pub struct Xz;

impl Unpacker for Xz {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        one_stream(input, each, |counted| {
            Ok(Box::new(lzma_rust2::XzReader::new_mem_limit(
                counted, true, MEMORY_KIB,
            )))
        })
    }
}
