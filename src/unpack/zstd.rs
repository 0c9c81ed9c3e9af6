//! zstd, with the pure-Rust `ruzstd` decoder (no C library to build). A stream is
//! read frame after frame, as `zstd -d` reads it: concatenated files (`cat a.zst
//! b.zst`), the frames that `pzstd` and `zstd -T` write, and skippable frames
//! (metadata, seek tables), which are passed over. A frame whose window is larger
//! than [`MAX_WINDOW`] (what `zstd -d` accepts without `--long=31`) is refused before
//! its buffer is reserved.

use std::io::{self, Read};

use ruzstd::frame::ReadFrameHeaderError;
use ruzstd::{BlockDecodingStrategy, FrameDecoder};

use super::{one_stream, Limits, Member, Unpacker};

/// The largest window a frame may ask for: 128 MiB, `zstd`'s own default limit.
const MAX_WINDOW: u64 = 128 << 20;

pub struct Zstd;

impl Unpacker for Zstd {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        one_stream(input, each, |counted| Ok(Box::new(Frames::start(counted)?)))
    }
}

/// The content of every frame of the zstd stream `input` (a zip member, say), after
/// its first frame's header is read.
pub(super) fn frames<'a>(input: &'a mut dyn Read) -> io::Result<Box<dyn Read + 'a>> {
    Ok(Box::new(Frames::start(input)?))
}

/// The content of every frame of a stream, one after another.
struct Frames<R> {
    source: R,
    decoder: FrameDecoder,
    /// A frame's header was read and its blocks are being decoded.
    in_frame: bool,
}

impl<R: Read> Frames<R> {
    /// The stream read from `source`, its first frame started: a blob that only
    /// looks like zstd is named as corrupt rather than scanned as empty content.
    fn start(source: R) -> io::Result<Frames<R>> {
        let mut frames = Frames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        };
        if !frames.next_frame()? {
            return Err(invalid("no frame"));
        }
        Ok(frames)
    }

    /// Starts the next frame that holds content; `false` at the end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            let mut first = [0u8; 1];
            if self.source.read(&mut first)? == 0 {
                return Ok(false);
            }
            // The header is read twice: once to judge its window before anything is
            // reserved, then by the decoder.
            let mut header = Recorded {
                inner: (&first[..]).chain(&mut self.source),
                bytes: Vec::with_capacity(18),
            };
            match ruzstd::frame::read_frame_header(&mut header) {
                Ok((frame, _)) => {
                    let window = frame.header.window_size().map_err(invalid)?;
                    if window > MAX_WINDOW {
                        return Err(invalid(format!(
                            "a frame asks for a window of {window} bytes, more than {MAX_WINDOW}"
                        )));
                    }
                }
                Err(ReadFrameHeaderError::SkipFrame { length, .. }) => {
                    let skipped = io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(invalid("a skippable frame is cut short"));
                    }
                    continue;
                }
                Err(err) => return Err(invalid(err)),
            }
            self.decoder.reset(&header.bytes[..]).map_err(invalid)?;
            self.in_frame = true;
            return Ok(true);
        }
    }
}

impl<R: Read> Read for Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame && !self.next_frame()? {
                return Ok(0);
            }
            while self.decoder.can_collect() < buf.len() && !self.decoder.is_finished() {
                let wanted = buf.len() - self.decoder.can_collect();
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(invalid)?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.decoder.is_finished() && self.decoder.can_collect() == 0 {
                self.in_frame = false;
            }
        }
    }
}

/// A reader that keeps what it hands out.
struct Recorded<R> {
    inner: R,
    bytes: Vec<u8>,
}

impl<R: Read> Read for Recorded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

fn invalid(err: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err.to_string())
}
