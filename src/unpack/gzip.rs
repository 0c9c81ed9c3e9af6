//! gzip (`.gz`, `.tgz`): one stream, or several concatenated, as `gzip -d` reads them.

use std::io::{self, Read};

use super::{one_stream, Limits, Member, Unpacker};

pub struct Gzip;

impl Unpacker for Gzip {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        one_stream(input, each, |counted| {
            Ok(Box::new(flate2::read::MultiGzDecoder::new(counted)))
        })
    }
}
