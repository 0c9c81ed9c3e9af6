//! gzip (`.gz`, `.tgz`): one stream, or several concatenated, as `gzip -d` reads them.

use std::cell::Cell;
use std::io::{self, Read};

use super::{one_stream, Counting, Limits, Member, Unpacker};

pub struct Gzip;

impl Unpacker for Gzip {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        let packed = Cell::new(0);
        let mut decoder = flate2::read::MultiGzDecoder::new(Counting {
            inner: input,
            count: &packed,
        });
        one_stream(&mut decoder, &packed, each)
    }
}
