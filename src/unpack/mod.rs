//! Unpacking: archives and compressed streams opened into the members they hold.
//!
//! A source hands a blob whose first bytes [`sniff`] recognises (by magic bytes, never
//! by name) to [`unpack`], which opens it with the [`Unpacker`] of its format (one
//! small file each: zip, tar, gzip, bzip2, xz, zstd), opens nested archives up to
//! [`Limits::depth`], and hands every other member, as a stream capped by the
//! [`Limits`], to a [`Sink`]; the sink (in `crate::sources`) scans it, decoding
//! included. Nothing is written to disk, so member names (`../x`, `/etc/x`) are only
//! names. A compressed stream (gzip, bzip2, xz, zstd) is a layer without a name of its
//! own: `logs.tar.gz!app/.env`, and a key in `app.log.gz` is reported in `app.log.gz`.
//! Limits that are hit, and archives that cannot be read, are collected in a
//! [`Report`]; unpacking never fails as a whole and never panics on bad input.

mod bzip2;
mod gzip;
mod tar;
mod xz;
mod zip;
mod zstd;

use std::cell::Cell;
use std::fmt;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

/// Nesting opened by default (`--max-archive-depth`).
pub const DEFAULT_DEPTH: usize = 3;
/// Bytes looked at to recognise a format: tar's magic sits at offset 257.
pub const SNIFF_LEN: usize = 512;
/// Below this many decompressed bytes, the ratio limit does not apply: small, very
/// regular members (a file of spaces) are common and cheap.
const RATIO_FLOOR: u64 = 1 << 20;
/// The most read at once past what the ratio allows so far, so that a bomb is
/// stopped within this many bytes of where it goes over.
const RATIO_STEP: u64 = 64 << 10;

/// The bounds that keep a hostile archive (a bomb, millions of members) cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Nested archives opened; 0 turns unpacking off (`--max-archive-depth`).
    pub depth: usize,
    /// Decompressed bytes read from one blob's archives, all members together
    /// (`--max-archive-bytes`).
    pub archive_bytes: u64,
    /// Decompressed bytes read from one member (`--max-member-bytes`).
    pub member_bytes: u64,
    /// Members opened in one blob, nested ones included (`--max-archive-members`).
    pub members: u64,
    /// Decompressed bytes per compressed byte (`--max-archive-ratio`).
    pub ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: DEFAULT_DEPTH,
            archive_bytes: 256 << 20,
            member_bytes: 64 << 20,
            members: 100_000,
            ratio: 250,
        }
    }
}

/// The formats recognised, by their magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Format {
    /// A compressed stream: one unnamed member, the stream's content.
    fn is_compression(self) -> bool {
        !matches!(self, Format::Zip | Format::Tar)
    }

    fn unpacker(self) -> &'static dyn Unpacker {
        match self {
            Format::Zip => &zip::Zip,
            Format::Tar => &tar::Tar,
            Format::Gzip => &gzip::Gzip,
            Format::Bzip2 => &bzip2::Bzip2,
            Format::Xz => &xz::Xz,
            Format::Zstd => &zstd::Zstd,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
        })
    }
}

/// The format whose magic bytes `head` starts with (tar: `ustar` at offset 257, the
/// POSIX, GNU and pax forms alike).
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PK\x03\x04") {
        Some(Format::Zip)
    } else if head.starts_with(&[0x1F, 0x8B, 0x08]) {
        Some(Format::Gzip)
    } else if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && &head[4..10] == b"1AY&SY"
    {
        Some(Format::Bzip2)
    } else if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Format::Xz)
    } else if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD])
        || (head.len() >= 4 && head[0] & 0xF0 == 0x50 && head[1..4] == [0x2A, 0x4D, 0x18])
    {
        // A zstd frame, or a skippable frame (a seek table, metadata) before one.
        Some(Format::Zstd)
    } else if head.get(257..262) == Some(b"ustar") || is_old_tar(head) {
        Some(Format::Tar)
    } else {
        None
    }
}

/// True when `head` starts with a tar header of the old (Unix V7) form, which has no
/// magic: a name, and a checksum field that holds, in octal, the sum of the header's
/// bytes with the field itself counted as spaces (unsigned, or signed as some old
/// tars summed).
fn is_old_tar(head: &[u8]) -> bool {
    let Some(header) = head.get(..512) else {
        return false;
    };
    if header[0] == 0 {
        return false;
    }
    let field = &header[148..156];
    let digits = field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b));
    let mut stored = 0u32;
    let mut count = 0;
    for &d in digits {
        stored = stored * 8 + u32::from(d - b'0');
        count += 1;
    }
    if count == 0 || count > 7 {
        return false;
    }
    let blank = u32::from(b' ') * 8;
    let outside = |b: &u8| (*b, *b as i8);
    let (unsigned, signed) = header[..148]
        .iter()
        .chain(&header[156..])
        .map(outside)
        .fold((blank, blank as i64), |(u, s), (b, i)| {
            (u + u32::from(b), s + i64::from(i))
        });
    stored == unsigned || i64::from(stored) == signed
}

/// One member as a format hands it over.
pub struct Member<'a> {
    /// Its path inside the archive, lossily UTF-8; empty for a compressed stream.
    pub name: String,
    pub content: &'a mut dyn Read,
    /// Compressed bytes it was read from so far, for the ratio limit; `None` where
    /// the format stores members as they are (tar).
    pub packed: Option<&'a Cell<u64>>,
}

/// What a format does: hand each member of the archive read from `input` to `each`,
/// in order, until `each` says stop (`Ok(false)`).
pub trait Unpacker: Sync {
    fn members(
        &self,
        input: &mut dyn Read,
        limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()>;
}

/// Where members' content goes: the scan.
pub trait Sink {
    /// `path` is the member's place below the blob (`release/bundle.zip!deploy/.env`),
    /// empty for the content of a compressed blob.
    fn member(&mut self, path: &str, content: &mut dyn Read) -> io::Result<()>;
}

/// What unpacking one blob met besides content.
#[derive(Debug, Default)]
pub struct Report {
    /// Members handed to the sink.
    pub members: u64,
    /// Parts not scanned, or scanned only in part, because of a limit.
    pub limited: Vec<String>,
    /// Archives that could not be read (in part or at all).
    pub corrupt: Vec<String>,
}

/// Opens the blob read from `input`, which [`sniff`] recognised as `format`, and hands
/// its members to `sink`.
pub fn unpack(
    format: Format,
    input: &mut dyn Read,
    limits: &Limits,
    sink: &mut dyn Sink,
) -> Report {
    let mut walker = Walker {
        limits,
        sink,
        left: Rc::new(Cell::new(limits.archive_bytes)),
        report: Report::default(),
        seen: 0,
        exhausted: false,
    };
    walker.open(format, input, &mut Vec::new(), 1, false);
    walker.report
}

struct Walker<'a> {
    limits: &'a Limits,
    sink: &'a mut dyn Sink,
    /// Decompressed bytes left for the whole blob, shared with each member's cap.
    left: Rc<Cell<u64>>,
    report: Report,
    seen: u64,
    /// The archive byte limit was reached (and named): archives that hold the one
    /// where it happened stop too.
    exhausted: bool,
}

/// Why a member's stream stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hit {
    Member,
    Archive,
    Ratio,
}

impl Walker<'_> {
    /// Opens one archive at nesting `depth` (1 for the blob itself); `chain` holds the
    /// names of the members it sits in; `in_stream` says its parent is a compressed
    /// stream, which then counts as a level of its own.
    fn open(
        &mut self,
        format: Format,
        input: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: usize,
        in_stream: bool,
    ) {
        let result = format
            .unpacker()
            .members(input, self.limits, &mut |member| {
                self.member(format, member, chain, depth, in_stream)
            });
        if let Err(err) = result {
            let at = if chain.is_empty() {
                String::new()
            } else {
                format!(" `{}`", chain.join("!"))
            };
            self.report
                .corrupt
                .push(format!("cannot read {format} archive{at}: {err}"));
        }
    }

    fn member(
        &mut self,
        format: Format,
        member: Member,
        chain: &mut Vec<String>,
        depth: usize,
        in_stream: bool,
    ) -> io::Result<bool> {
        if self.exhausted {
            return Ok(false);
        }
        self.seen += 1;
        if self.seen > self.limits.members {
            self.report.limited.push(format!(
                "members past the first {} not scanned (--max-archive-members)",
                self.limits.members
            ));
            return Ok(false);
        }
        let hit = Cell::new(None);
        let mut capped = Capped {
            inner: member.content,
            member_left: self.limits.member_bytes,
            left: Rc::clone(&self.left),
            produced: 0,
            packed: member.packed,
            ratio: self.limits.ratio,
            hit: &hit,
        };
        let mut head = Vec::with_capacity(SNIFF_LEN);
        (&mut capped)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut head)?;
        let named = !member.name.is_empty();
        if named {
            chain.push(member.name);
        }
        let path = chain.join("!");
        // The raw bytes of a zip whose index is unreadable are not a zip to open again.
        let opaque = format == Format::Zip && !named;
        let nested = if opaque { None } else { sniff(&head) };
        // A compressed stream directly holding its content (`.tar.gz`, `.log.gz`)
        // costs no level; one inside another stream does, so that a stream that
        // decompresses to itself ends.
        let cost = match nested {
            Some(inner) if inner.is_compression() || format.is_compression() => {
                usize::from(format.is_compression() && in_stream)
            }
            _ => 1,
        };
        let mut rest = Cursor::new(head).chain(&mut capped);
        let result = match nested {
            Some(inner) if depth + cost <= self.limits.depth => {
                self.open(
                    inner,
                    &mut rest,
                    chain,
                    depth + cost,
                    format.is_compression(),
                );
                Ok(())
            }
            Some(inner) => {
                self.report.limited.push(format!(
                    "{inner} archive `{path}` not opened, nested deeper than --max-archive-depth {}",
                    self.limits.depth
                ));
                self.report.members += 1;
                self.sink.member(&path, &mut rest)
            }
            None => {
                self.report.members += 1;
                self.sink.member(&path, &mut rest)
            }
        };
        if named {
            chain.pop();
        }
        if let Err(err) = result {
            // Zip members are independent of each other: a damaged one does not
            // stop the rest. In a stream, what follows the damage is lost anyway.
            if format != Format::Zip {
                return Err(err);
            }
            self.report
                .corrupt
                .push(format!("cannot read member `{path}`: {err}"));
        }
        let shown = if path.is_empty() {
            "content".to_string()
        } else {
            format!("`{path}`")
        };
        match hit.get() {
            None => Ok(true),
            Some(Hit::Member) => {
                self.report.limited.push(format!(
                    "{shown}: only the first {} bytes scanned (--max-member-bytes)",
                    self.limits.member_bytes
                ));
                Ok(true)
            }
            Some(Hit::Ratio) => {
                self.report.limited.push(format!(
                    "{shown}: decompresses more than {} times its size, scanned in part (--max-archive-ratio)",
                    self.limits.ratio
                ));
                Ok(true)
            }
            Some(Hit::Archive) => {
                self.exhausted = true;
                self.report.limited.push(format!(
                    "{shown} and the members after it: past {} decompressed bytes, not scanned (--max-archive-bytes)",
                    self.limits.archive_bytes
                ));
                Ok(false)
            }
        }
    }
}

/// A member's stream that ends early, as if the member ended there, when a limit is
/// reached; `hit` says which.
struct Capped<'a, 'b> {
    inner: &'a mut dyn Read,
    member_left: u64,
    left: Rc<Cell<u64>>,
    produced: u64,
    packed: Option<&'b Cell<u64>>,
    ratio: u64,
    hit: &'b Cell<Option<Hit>>,
}

impl Read for Capped<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.hit.get().is_some() {
            return Ok(0);
        }
        let mut room = self.member_left.min(self.left.get());
        if room == 0 {
            self.hit.set(Some(if self.member_left == 0 {
                Hit::Member
            } else {
                Hit::Archive
            }));
            return Ok(0);
        }
        if let Some(packed) = self.packed {
            let allowed = packed
                .get()
                .max(1)
                .saturating_mul(self.ratio)
                .max(RATIO_FLOOR);
            if self.produced >= allowed {
                self.hit.set(Some(Hit::Ratio));
                return Ok(0);
            }
            // One read may decompress as much as it is asked for: ask for no more
            // than the ratio still allows (the compressed count grows as it reads).
            room = room.min((allowed - self.produced).max(RATIO_STEP));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.member_left -= n as u64;
        self.left.set(self.left.get() - n as u64);
        self.produced += n as u64;
        Ok(n)
    }
}

/// Counts the compressed bytes a decoder takes from its input.
pub(crate) struct Counting<'a> {
    pub inner: &'a mut dyn Read,
    pub count: &'a Cell<u64>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Hands the single, unnamed member of a compressed stream over.
/// `open` builds the decompressing reader over `input`, whose compressed bytes are
/// counted for the ratio limit.
pub(crate) fn one_stream(
    input: &mut dyn Read,
    each: &mut dyn FnMut(Member) -> io::Result<bool>,
    open: impl for<'c> FnOnce(Counting<'c>) -> io::Result<Box<dyn Read + 'c>>,
) -> io::Result<()> {
    let packed = Cell::new(0);
    let mut content = open(Counting {
        inner: input,
        count: &packed,
    })?;
    each(Member {
        name: String::new(),
        content: &mut *content,
        packed: Some(&packed),
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what unpacking hands over: (path, content).
    #[derive(Default)]
    struct Collect(Vec<(String, Vec<u8>)>);

    impl Sink for Collect {
        fn member(&mut self, path: &str, content: &mut dyn Read) -> io::Result<()> {
            let mut bytes = Vec::new();
            content.read_to_end(&mut bytes)?;
            self.0.push((path.to_string(), bytes));
            Ok(())
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn formats_are_told_by_magic_bytes() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff(&[0x1F, 0x8B, 0x08, 0]), Some(Format::Gzip));
        assert_eq!(sniff(b"BZh91AY&SYrest"), Some(Format::Bzip2));
        assert_eq!(sniff(b"BZh0not bzip2"), None);
        assert_eq!(
            sniff(&[0xFD, b'7', b'z', b'X', b'Z', 0, 1]),
            Some(Format::Xz)
        );
        assert_eq!(sniff(&[0x28, 0xB5, 0x2F, 0xFD, 0]), Some(Format::Zstd));
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&tar), Some(Format::Tar));
        // Text that merely mentions a format, or is too short to hold tar's magic.
        assert_eq!(sniff(b"PK zip file notes"), None);
        assert_eq!(sniff(b"ustar"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0x50, 0x2A, 0x4D, 0x18, 0]), Some(Format::Zstd));
    }

    /// An old tar header is known by its checksum alone; text and noise of the same
    /// length, and the header with one byte changed, are not tars.
    #[test]
    fn old_tars_are_told_by_their_checksum() {
        let mut header = vec![0u8; 512];
        header[..8].copy_from_slice(b"notes.md");
        header[100..107].copy_from_slice(b"0000644");
        header[124..135].copy_from_slice(b"00000000012");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum::<u32>() + 8 * 32;
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        header[155] = b' ';
        assert_eq!(sniff(&header), Some(Format::Tar));
        let mut changed = header.clone();
        changed[3] ^= 1;
        assert_eq!(sniff(&changed), None);
        assert_eq!(sniff(&[b'a'; 512]), None);
        let noise: Vec<u8> = (0..512u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(sniff(&noise), None);
    }

    /// A compressed stream decompressing to the next layer of itself is cut at the
    /// depth limit, whatever it holds.
    #[test]
    fn streams_inside_streams_cost_depth() {
        let mut bytes = b"inner text".to_vec();
        for _ in 0..6 {
            bytes = gzip(&bytes);
        }
        let mut sink = Collect::default();
        let report = unpack(Format::Gzip, &mut &bytes[..], &Limits::default(), &mut sink);
        assert_eq!(sink.0.len(), 1);
        assert_eq!(
            sniff(&sink.0[0].1),
            Some(Format::Gzip),
            "handed over unopened"
        );
        assert_eq!(report.limited.len(), 1, "{report:?}");
    }

    /// The member limit cuts a member's stream where it is reached; the archive limit
    /// stops the members after it.
    #[test]
    fn caps_cut_members_and_archives() {
        let bytes = gzip(&vec![b'a'; 10_000]);
        let limits = Limits {
            member_bytes: 4_000,
            ..Limits::default()
        };
        let mut sink = Collect::default();
        let report = unpack(Format::Gzip, &mut &bytes[..], &limits, &mut sink);
        assert_eq!(sink.0[0].1.len(), 4_000);
        assert!(
            report.limited[0].contains("--max-member-bytes"),
            "{report:?}"
        );

        let limits = Limits {
            archive_bytes: 3_000,
            ..Limits::default()
        };
        let mut sink = Collect::default();
        let report = unpack(Format::Gzip, &mut &bytes[..], &limits, &mut sink);
        assert_eq!(sink.0[0].1.len(), 3_000);
        assert!(
            report.limited[0].contains("--max-archive-bytes"),
            "{report:?}"
        );
    }

    /// Zeros past the ratio are left after the floor: a bomb costs a few MiB. (The
    /// encoder at hand packs zeros about 100 to 1, so the test's ratio is lower than
    /// the default.)
    #[test]
    fn the_ratio_stops_a_bomb() {
        let bytes = gzip(&vec![0u8; 64 << 20]);
        let limits = Limits {
            ratio: 20,
            ..Limits::default()
        };
        let mut sink = Collect::default();
        let report = unpack(Format::Gzip, &mut &bytes[..], &limits, &mut sink);
        let scanned = sink.0[0].1.len() as u64;
        let bound = bytes.len() as u64 * limits.ratio + RATIO_STEP;
        assert!(
            scanned >= RATIO_FLOOR && scanned <= bound,
            "{scanned} > {bound}"
        );
        assert!(
            report.limited[0].contains("--max-archive-ratio"),
            "{report:?}"
        );
    }

    /// Past the archive byte limit inside a nested archive, the archives around it
    /// stop too, and the limit is named once.
    #[test]
    fn the_archive_limit_stops_every_level() {
        let mut builder = ::tar::Builder::new(Vec::new());
        for name in ["a.gz", "b.gz"] {
            let member = gzip(&vec![b'a'; 10_000]);
            let mut header = ::tar::Header::new_gnu();
            header.set_size(member.len() as u64);
            header.set_cksum();
            builder.append_data(&mut header, name, &member[..]).unwrap();
        }
        let bytes = builder.into_inner().unwrap();
        let limits = Limits {
            archive_bytes: 5_000,
            ..Limits::default()
        };
        let mut sink = Collect::default();
        let report = unpack(Format::Tar, &mut &bytes[..], &limits, &mut sink);
        assert_eq!(sink.0.len(), 1);
        assert_eq!(sink.0[0].0, "a.gz");
        assert_eq!(report.limited.len(), 1, "{report:?}");
        assert!(report.limited[0].contains("--max-archive-bytes"));
    }

    /// Damage is reported, never a panic; what came before it is handed over.
    #[test]
    fn damage_is_reported() {
        let mut bytes = gzip(b"some text that is long enough to be cut in the middle");
        bytes.truncate(bytes.len() - 12);
        for format in [
            Format::Gzip,
            Format::Zip,
            Format::Tar,
            Format::Bzip2,
            Format::Xz,
            Format::Zstd,
        ] {
            let mut sink = Collect::default();
            let report = unpack(format, &mut &bytes[..], &Limits::default(), &mut sink);
            assert_eq!(report.corrupt.len(), 1, "{format}: {report:?}");
        }
    }
}
