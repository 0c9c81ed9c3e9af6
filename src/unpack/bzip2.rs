//! bzip2: one stream, or several concatenated (as `pbzip2` writes them).

use std::io::{self, Read};

use super::{one_stream, Limits, Member, Unpacker};

pub struct Bzip2;

impl Unpacker for Bzip2 {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        one_stream(input, each, |counted| {
            Ok(Box::new(::bzip2::read::MultiBzDecoder::new(counted)))
        })
    }
}
