//! bzip2: one stream, or several concatenated (as `pbzip2` writes them).

use std::cell::Cell;
use std::io::{self, Read};

use super::{one_stream, Counting, Limits, Member, Unpacker};

pub struct Bzip2;

impl Unpacker for Bzip2 {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        let packed = Cell::new(0);
        let mut decoder = ::bzip2::read::MultiBzDecoder::new(Counting {
            inner: input,
            count: &packed,
        });
        one_stream(&mut decoder, &packed, each)
    }
}
