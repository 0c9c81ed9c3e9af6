//! Percent-encoding, whole or partial (`sk%2Dproj%2D…`, `key%3Dsk-…`): the stretch
//! of a line around each `%XX` is decoded (see [`segment::decode_around`]). `+` is
//! left as it is: keys hold it, and form encoding's space is not a key's.

use super::segment::{self, hex_value, Unescaped};
use super::{Decoder, Layer, Piece};

pub struct Percent;

fn escape_at(hay: &[u8], i: usize) -> Option<Unescaped> {
    if hay[i] != b'%' {
        return None;
    }
    let high = hex_value(*hay.get(i + 1)?)?;
    let low = hex_value(*hay.get(i + 2)?)?;
    Some(Unescaped::byte(high << 4 | low, 3))
}

impl Decoder for Percent {
    fn decode(&self, hay: &[u8], out: &mut Vec<Piece>) {
        let triggers = memchr::memchr_iter(b'%', hay)
            .filter(|&i| escape_at(hay, i).is_some_and(|u| u.is_printable_ascii()));
        segment::decode_around(Layer::Percent, hay, triggers, escape_at, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_percent_encoding_decodes() {
        let hay = b"GET /v1?api_key=sk%2Dproj%2Dabcdefghij&x=1 HTTP/1.1\nnext";
        let mut out = Vec::new();
        Percent.decode(hay, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].bytes,
            b"GET /v1?api_key=sk-proj-abcdefghij&x=1 HTTP/1.1"
        );
        let mut none = Vec::new();
        Percent.decode(b"printf(\"%s and %d\")", &mut none);
        assert!(none.is_empty());
        Percent.decode(b"/wiki/Caf%C3%A9_and_more_of_the_path", &mut none);
        assert!(none.is_empty());
    }
}
