//! Sources: where bytes to scan come from.
//!
//! A source (files and folders, standard input, and the git sources: staged changes,
//! history, ranges) finds content and hands it, with its path and commit, to the
//! helpers here: [`scan_bytes`] for content in memory and [`scan_reader`] for a stream
//! of any size, which it scans in overlapping chunks so that a file larger than
//! memory is never read whole. Every piece goes the same way, whatever its source:
//! UTF-16 is transcoded, the engine scans the piece as it is and every view that
//! [`crate::decode`] finds in it, and each match becomes a finding placed in the
//! original content (so line, column, the added-lines filter and inline allows are
//! always judged there), handed to the [`Collector`](crate::collect::Collector).
//! Before any of that, a blob whose first bytes are an archive's or a compressed
//! stream's goes to [`crate::unpack`], and each member it hands back is scanned the
//! same way, under the member's name (`outer.zip!inner/.env`). Messages (commit and
//! tag messages, a pull request's text) take the same path through [`message`].

pub mod commit_msg;
pub mod fs;
pub mod git;
pub mod message;
pub mod stdin;

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use crate::collect::Collector;
use crate::decode::{self, Layer, View};
use crate::engine::{Match, Scanner, Scratch};
use crate::finding::{self, CommitInfo, Finding, Origin, Suppression};
use crate::rules::MAX_REACH;
use crate::suppress;
use crate::unpack;

/// Bytes scanned at once from a stream.
const CHUNK: usize = 8 << 20;
/// The smallest chunk [`chunk_size`] allows: more than the context kept on each side
/// of a cut, so that every chunk moves the stream on.
const MIN_TEST_CHUNK: usize = 2 * OVERLAP;

/// The chunk size: [`CHUNK`], or a smaller one that the environment variable
/// `KEYGATE_TEST_CHUNK` sets (at least [`MIN_TEST_CHUNK`]). It is hidden, for tests
/// that put keys at every offset around a cut: at the real size each placement costs
/// a file of 8 MiB. It can only lower the size, and so the memory a scan uses.
fn chunk_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("KEYGATE_TEST_CHUNK")
            .ok()
            .and_then(|size| size.parse::<usize>().ok())
            .map_or(CHUNK, |size| size.clamp(MIN_TEST_CHUNK, CHUNK))
    })
}
/// Bytes read past a chunk's end: more than any rule's reach
/// (`lookbehind + keyword + max_len`, at most [`MAX_REACH`]), so no match whose
/// secret starts in the chunk is cut, nor a keyword after it that anchors it.
const OVERLAP: usize = 64 << 10;
/// Bytes before a chunk's start scanned again with it: a keyword or any other
/// context of a secret that starts in the chunk lies at most a rule's reach before
/// the secret, and the line before the cut (an allow comment) is kept too.
const BACK: usize = MAX_REACH;
const _: () = assert!(OVERLAP >= MAX_REACH + LINE_REACH && BACK >= MAX_REACH);

/// Everything a source needs to scan: the shared engine and the shared sink.
pub struct ScanContext<'a> {
    pub scanner: &'a Scanner,
    pub collector: &'a Collector,
    /// Files larger than this are skipped (`--max-file-size`).
    pub max_file_size: Option<u64>,
    /// Worker threads (`--threads`).
    pub threads: usize,
    /// Layers of encoding looked through (`--max-decode-depth`; 0: none).
    pub decode_depth: usize,
    /// Archives opened and their limits (`--max-archive-depth`; 0: none).
    pub archives: unpack::Limits,
}

impl ScanContext<'_> {
    /// True when a blob of `size` bytes is over `--max-file-size`: then it is
    /// counted as skipped and named in a warning, the same way for every source.
    pub fn too_large(&self, what: &str, size: u64) -> bool {
        let Some(limit) = self.max_file_size else {
            return false;
        };
        if size <= limit {
            return false;
        }
        self.collector
            .counters
            .skipped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.collector.warn(&format!(
            "`{}`: skipped, {size} bytes is over --max-file-size {limit}",
            crate::quote::path(what)
        ));
        true
    }
}

/// A source of content to scan (files, stdin, git).
pub trait Source {
    /// Scans everything the source holds. Unreadable parts are reported to the
    /// collector and skipped; an `Err` means the source could not be scanned at all.
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()>;
}

/// Per-thread working memory, reused from one blob to the next.
#[derive(Debug, Default)]
pub struct Worker {
    scratch: Scratch,
    matches: Vec<Match>,
    buf: Vec<u8>,
    /// The chunk buffer of archive members, kept from one archive to the next.
    member_buf: Vec<u8>,
    views: Vec<View>,
    view_matches: Vec<Match>,
}

/// Sorted, disjoint 1-based line ranges: the lines a change added. Findings outside
/// them are not reported (staged and range scans).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineSet {
    ranges: Vec<Range<u64>>,
}

impl LineSet {
    /// Adds lines `start..start + count`; ranges must come in ascending order.
    pub fn push(&mut self, start: u64, count: u64) {
        if count == 0 {
            return;
        }
        match self.ranges.last_mut() {
            Some(last) if last.end >= start => last.end = last.end.max(start + count),
            _ => self.ranges.push(start..start + count),
        }
    }

    pub fn contains(&self, line: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.end <= line);
        self.ranges.get(i).is_some_and(|r| r.start <= line)
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The lines in both sets (a merge adds what it adds against every parent).
    pub fn intersect(&self, other: &LineSet) -> LineSet {
        let mut out = LineSet::default();
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.ranges.get(i), other.ranges.get(j)) {
            let start = a.start.max(b.start);
            let end = a.end.min(b.end);
            if start < end {
                out.push(start, end - start);
            }
            if a.end < b.end {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }
}

/// Who and what a blob is, for the findings in it.
#[derive(Clone, Copy, Debug)]
pub struct BlobMeta<'a> {
    /// The path as findings show it.
    pub path: &'a str,
    pub commit: Option<&'a Arc<CommitInfo>>,
    /// Only findings that start on these lines count.
    pub added_lines: Option<&'a LineSet>,
    /// The member of the archive at `path` that the content is, if any.
    pub member: Option<&'a str>,
}

impl<'a> BlobMeta<'a> {
    pub fn path(path: &'a str) -> Self {
        BlobMeta {
            path,
            commit: None,
            added_lines: None,
            member: None,
        }
    }
}

/// Scans content held in memory. UTF-16 is transcoded first.
pub fn scan_bytes(ctx: &ScanContext, worker: &mut Worker, bytes: &[u8], meta: BlobMeta) {
    find_in_bytes(ctx, worker, bytes, meta, &mut |found| {
        ctx.collector.push(found)
    });
}

/// Like [`scan_bytes`], but hands each finding to `emit` instead of the collector:
/// for sources that learn a finding's path or commit only after the scan (a git blob
/// scanned once for every path and commit that holds it).
pub fn find_in_bytes(
    ctx: &ScanContext,
    worker: &mut Worker,
    bytes: &[u8],
    meta: BlobMeta,
    emit: &mut dyn FnMut(Finding),
) {
    if ctx.archives.depth > 0 {
        if let Some(format) = unpack::sniff(bytes) {
            scan_archive(ctx, worker, format, &mut &bytes[..], meta, emit);
            return;
        }
    }
    let whole = Origin::default();
    let piece =
        |hay: &[u8], outer: &[Layer], worker: &mut Worker, emit: &mut dyn FnMut(Finding)| {
            scan_piece(ctx, worker, hay, meta, whole, 0..usize::MAX, outer, emit);
        };
    if let Some(decoded) = decode_utf16(bytes) {
        piece(decoded.as_bytes(), &[], worker, emit);
    } else if let Some(encoding) = decode::utf16::detect(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(bytes);
        piece(text.as_bytes(), &[Layer::Utf16], worker, emit);
    } else {
        piece(bytes, &[], worker, emit);
    }
}

/// Scans a stream in chunks of [`CHUNK`] bytes (see [`chunk_size`]), each read with
/// [`OVERLAP`] bytes past its end and [`BACK`] before its start; returns
/// the bytes read. UTF-16 with a byte-order mark is transcoded on the fly.
pub fn scan_reader(
    ctx: &ScanContext,
    worker: &mut Worker,
    reader: &mut dyn Read,
    meta: BlobMeta,
) -> io::Result<u64> {
    let mut buf = std::mem::take(&mut worker.buf);
    buf.clear();
    let result = scan_chunks(ctx, worker, &mut buf, reader, meta, true, &mut |found| {
        ctx.collector.push(found)
    });
    // Keep the buffer for the next file, unless one huge file grew it.
    if buf.capacity() <= CHUNK + OVERLAP {
        worker.buf = buf;
    }
    result
}

/// Scans a stream; `sniff` says whether it may be an archive to open (a member that
/// [`unpack`] handed over is not: it looked already).
fn scan_chunks(
    ctx: &ScanContext,
    worker: &mut Worker,
    buf: &mut Vec<u8>,
    reader: &mut dyn Read,
    meta: BlobMeta,
    sniff: bool,
    emit: &mut dyn FnMut(Finding),
) -> io::Result<u64> {
    // The first chunk is read whole before the byte-order mark is looked at: a
    // separate read of the first bytes would cost a system call a file.
    let total = fill(reader, buf, chunk_size() + OVERLAP)? as u64;
    if sniff && ctx.archives.depth > 0 {
        if let Some(format) = unpack::sniff(buf) {
            let mut head = io::Cursor::new(std::mem::take(buf));
            let read = std::cell::Cell::new(0);
            let mut rest = unpack::Counting {
                inner: reader,
                count: &read,
            };
            let mut input = (&mut head).chain(&mut rest);
            scan_archive(ctx, worker, format, &mut input, meta, emit);
            // The buffer goes back, empty, with its capacity for the next file.
            *buf = head.into_inner();
            buf.clear();
            return Ok(total + read.get());
        }
    }
    let bom = buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]);
    let sniffed = if bom {
        None
    } else {
        decode::utf16::detect(buf)
    };
    if bom || sniffed.is_some() {
        let head = std::mem::take(buf);
        let mut decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
            .bom_sniffing(bom)
            .encoding(sniffed)
            .strip_bom(true)
            .build(io::Cursor::new(head).chain(reader));
        let outer: &[Layer] = if bom { &[] } else { &[Layer::Utf16] };
        let read = scan_chunks_plain(ctx, worker, buf, &mut decoder, meta, false, outer, emit)?;
        return Ok(read.max(total));
    }
    let at_end = buf.len() < chunk_size() + OVERLAP;
    Ok(total + scan_chunks_plain(ctx, worker, buf, reader, meta, at_end, &[], emit)?)
}

/// Opens an archive blob and scans each member it holds, under the member's name;
/// limits hit and damage met are warned about and counted, and the scan goes on.
fn scan_archive(
    ctx: &ScanContext,
    worker: &mut Worker,
    format: unpack::Format,
    input: &mut dyn Read,
    meta: BlobMeta,
    emit: &mut dyn FnMut(Finding),
) {
    struct Members<'s, 'c> {
        ctx: &'s ScanContext<'c>,
        worker: &'s mut Worker,
        meta: BlobMeta<'s>,
        emit: &'s mut dyn FnMut(Finding),
        buf: Vec<u8>,
    }
    impl unpack::Sink for Members<'_, '_> {
        fn member(&mut self, path: &str, content: &mut dyn Read) -> io::Result<()> {
            let meta = BlobMeta {
                member: (!path.is_empty()).then_some(path),
                ..self.meta
            };
            self.buf.clear();
            scan_chunks(
                self.ctx,
                self.worker,
                &mut self.buf,
                content,
                meta,
                false,
                self.emit,
            )?;
            Ok(())
        }
    }
    let mut members = Members {
        ctx,
        worker,
        meta,
        emit,
        buf: Vec::new(),
    };
    members.buf = std::mem::take(&mut members.worker.member_buf);
    let report = unpack::unpack(format, input, &ctx.archives, &mut members);
    // Kept for the next archive, unless one member's endless line grew it.
    if members.buf.capacity() <= CHUNK + OVERLAP {
        members.buf.clear();
        members.worker.member_buf = std::mem::take(&mut members.buf);
    }
    let counters = &ctx.collector.counters;
    use std::sync::atomic::Ordering::Relaxed;
    counters.archive_members.fetch_add(report.members, Relaxed);
    counters
        .archive_limited
        .fetch_add(report.limited.len() as u64, Relaxed);
    counters
        .archive_errors
        .fetch_add(report.corrupt.len() as u64, Relaxed);
    for message in report.limited.iter().chain(&report.corrupt) {
        ctx.collector.warn(&format!("`{}`: {message}", meta.path));
    }
}

#[allow(clippy::too_many_arguments)]
/// The chunk loop proper; `buf` may already hold the stream's first bytes, and all
/// of them when `at_end` (the stream is not asked again for the end it gave).
fn scan_chunks_plain(
    ctx: &ScanContext,
    worker: &mut Worker,
    buf: &mut Vec<u8>,
    reader: &mut dyn Read,
    meta: BlobMeta,
    at_end: bool,
    outer: &[Layer],
    emit: &mut dyn FnMut(Finding),
) -> io::Result<u64> {
    let mut origin = Origin::default();
    let mut total = 0u64;
    let target = chunk_size() + OVERLAP;
    let mut eof = at_end;
    // Bytes at the head of `buf` that the previous chunk already reported on, kept as
    // context: every rule's reach ([`BACK`]), so that a secret just past the cut is
    // found with the keyword before it; and the start of the line a match is on and
    // the line before it, where inline allow comments (`keygate:allow-next-line`) stand.
    let mut skip = 0;
    loop {
        if !eof {
            total += fill(reader, buf, target)? as u64;
            eof = buf.len() < target;
        }
        // Cut at a line start where one is near, so that no line is split between
        // the match in one chunk and its allow comment in the other.
        let keep = if eof {
            buf.len()
        } else {
            line_start_near(buf, buf.len() - OVERLAP)
        };
        scan_piece(ctx, worker, buf, meta, origin, skip..keep, outer, emit);
        if eof {
            return Ok(total);
        }
        let next = line_start_near(buf, keep.saturating_sub(1)).min(keep.saturating_sub(BACK));
        skip = keep - next;
        let done = &buf[..next];
        let newlines = memchr::memchr_iter(b'\n', done).count() as u64;
        let line_start = memchr::memrchr(b'\n', done).map_or(0, |p| p + 1);
        origin.column_carry = finding::count_chars(&done[line_start..])
            + if newlines == 0 {
                origin.column_carry
            } else {
                0
            };
        origin.line += newlines;
        origin.offset += next as u64;
        buf.drain(..next);
    }
}

/// How far back from a chunk's cut a line start is looked for; lines longer than
/// this (minified code) are cut where they are.
const LINE_REACH: usize = 4096;

/// The start of the line holding byte `at`, if it is within [`LINE_REACH`] bytes;
/// else `at` itself.
fn line_start_near(buf: &[u8], at: usize) -> usize {
    let floor = at.saturating_sub(LINE_REACH);
    memchr::memrchr(b'\n', &buf[floor..at]).map_or(at, |p| floor + p + 1)
}

/// Reads until `buf` holds `target` bytes or the stream ends; returns bytes read.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, target: usize) -> io::Result<usize> {
    let before = buf.len();
    if buf.len() >= target {
        return Ok(0);
    }
    let want = (target - buf.len()) as u64;
    // Exactly the room needed: `read_to_end` alone would double the buffer past the
    // chunk size, and a buffer kept across files (and archive members) would stay so.
    buf.reserve_exact(target - buf.len());
    match reader.take(want).read_to_end(buf) {
        Ok(_) => Ok(buf.len() - before),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(buf.len() - before),
        Err(e) => Err(e),
    }
}

/// A secret found in a piece, plain or in a decoded view, before it is placed.
struct Candidate {
    rule: usize,
    /// Where it stands in the piece (its encoded form, if decoded).
    span: Range<usize>,
    /// Which view holds the secret: `None` for the piece itself.
    view: Option<usize>,
    secret: Range<usize>,
    entropy: f64,
}

/// Scans one piece of content and the views decoding finds in it; keeps matches
/// that start inside `keep`. `outer` names the encoding the whole piece was
/// transcoded from, if any.
#[allow(clippy::too_many_arguments)]
fn scan_piece(
    ctx: &ScanContext,
    worker: &mut Worker,
    hay: &[u8],
    meta: BlobMeta,
    origin: Origin,
    keep: Range<usize>,
    outer: &[Layer],
    emit: &mut dyn FnMut(Finding),
) {
    let scanner = ctx.scanner;
    let Worker {
        scratch,
        matches,
        views,
        view_matches,
        ..
    } = worker;
    matches.clear();
    scanner.scan(hay, scratch, matches);
    let triggers = scanner.has_triggers().then(|| scratch.triggers());
    decode::decode(hay, ctx.decode_depth, triggers, views);
    let place = |c: &Candidate, emit: &mut dyn FnMut(Finding)| {
        let (secret, layers) = match c.view {
            None => (&hay[c.secret.clone()], outer.to_vec()),
            Some(v) => {
                let view = &views[v];
                let mut layers = outer.to_vec();
                layers.extend(&view.layers);
                (&view.bytes[c.secret.clone()], layers)
            }
        };
        let rule = scanner.rules().get(c.rule);
        let mut found = finding::build(
            rule,
            hay,
            c.span.clone(),
            secret,
            c.entropy,
            meta.path,
            origin,
        );
        if meta
            .added_lines
            .is_some_and(|lines| !lines.contains(found.location.line))
        {
            return;
        }
        if suppress::inline_allowed(hay, c.span.start) {
            found.suppression = Some(Suppression::Inline);
        }
        found.commit = meta.commit.cloned();
        if let Some(member) = meta.member {
            found.location.path = format!("{}!{member}", meta.path);
            found.location.member = Some(member.to_string());
        }
        found.decoded = layers;
        emit(found);
    };
    let plain = matches
        .iter()
        .filter(|m| keep.contains(&m.secret.start))
        .map(|m| Candidate {
            rule: m.rule,
            span: m.secret.clone(),
            view: None,
            secret: m.secret.clone(),
            entropy: m.entropy,
        });
    if views.is_empty() {
        for c in plain {
            place(&c, emit);
        }
        return;
    }
    let mut kept: Vec<Candidate> = plain.collect();
    for (v, view) in views.iter().enumerate() {
        view_matches.clear();
        scanner.scan(&view.bytes, scratch, view_matches);
        for m in view_matches.iter() {
            let span = view.original(m.secret.clone());
            // A secret that reads the same in the piece was not encoded there: the
            // plain scan (or a shallower view) has it.
            if !keep.contains(&span.start) || hay[span.clone()] == view.bytes[m.secret.clone()] {
                continue;
            }
            let candidate = Candidate {
                rule: m.rule,
                span,
                view: Some(v),
                secret: m.secret.clone(),
                entropy: m.entropy,
            };
            admit(scanner, &mut kept, candidate);
        }
    }
    kept.sort_by_key(|c| (c.span.start, c.rule));
    for c in &kept {
        place(c, emit);
    }
}

/// Adds a decoded candidate unless a finding of the same secret already covers as
/// much of the content: where a plain match and a decoded one overlap (for the same
/// rule, or where one rule gives way to the other: a generic rule, a bare key body
/// beside its prefixed key), the one that spans more stands, so a key cut short by
/// an escape or a split is reported whole, and a key is reported once.
fn admit(scanner: &Scanner, kept: &mut Vec<Candidate>, candidate: Candidate) {
    let conflicts = |other: &Candidate| {
        other.span.start < candidate.span.end
            && candidate.span.start < other.span.end
            && (other.rule == candidate.rule
                || scanner.yields_to(other.rule, candidate.rule)
                || scanner.yields_to(candidate.rule, other.rule))
    };
    if kept
        .iter()
        .any(|other| conflicts(other) && other.span.len() >= candidate.span.len())
    {
        return;
    }
    kept.retain(|other| !conflicts(other));
    kept.push(candidate);
}

/// Decodes UTF-16 with a byte-order mark into UTF-8; `None` for anything else.
pub fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let encoding = match bytes {
        [0xFF, 0xFE, ..] => encoding_rs::UTF_16LE,
        [0xFE, 0xFF, ..] => encoding_rs::UTF_16BE,
        _ => return None,
    };
    let (text, _) = encoding.decode_with_bom_removal(bytes);
    Some(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_sets_merge_and_answer() {
        let mut lines = LineSet::default();
        lines.push(3, 2);
        lines.push(5, 1);
        lines.push(9, 3);
        assert!(!lines.contains(2));
        assert!(lines.contains(3) && lines.contains(5));
        assert!(!lines.contains(6));
        assert!(lines.contains(11) && !lines.contains(12));
    }

    #[test]
    fn line_sets_intersect() {
        let mut a = LineSet::default();
        a.push(1, 5);
        a.push(10, 2);
        let mut b = LineSet::default();
        b.push(4, 7);
        let both = a.intersect(&b);
        assert!(!both.contains(3));
        assert!(both.contains(4) && both.contains(5) && both.contains(10));
        assert!(!both.contains(6) && !both.contains(11));
    }

    /// An allow comment on the line before a key, or on the key's line before it, is
    /// honoured when a chunk boundary of a large stream falls between them, and the
    /// key keeps its line number.
    #[test]
    fn inline_allows_survive_chunk_boundaries() {
        use crate::collect::Collector;
        use crate::rules::RuleSet;
        use crate::suppress::Suppressor;

        let half = |seed: u8| -> String {
            (0..20)
                .map(|i| char::from(b'A' + (seed.wrapping_mul(7).wrapping_add(i * 5)) % 26))
                .collect()
        };
        let key = |seed: u8| format!("sk-proj-{}T3BlbkFJ{}", half(seed), half(seed + 1));
        let filler = "x".repeat(99) + "\n";
        // The comment line straddles the first cut; or the line starts before it with
        // its allow comment, and the key after it.
        for (gap, allow_next) in [(10usize, true), (20, false)] {
            let mut text = filler.repeat(CHUNK / 100 + 1);
            text.truncate(CHUNK - gap - 1);
            text.push('\n');
            let lines_before = text.matches('\n').count() as u64;
            let expected_line = if allow_next {
                text.push_str("# keygate:allow-next-line\n");
                text.push_str(&format!("KEY={}\n", key(1)));
                lines_before + 2
            } else {
                text.push_str(&format!("/* keygate:allow */ KEY={}\n", key(3)));
                lines_before + 1
            };
            text.push_str(&filler.repeat(1000));

            let scanner = Scanner::new(RuleSet::builtin().unwrap()).unwrap();
            let collector = Collector::new(Suppressor::default(), true, None);
            let ctx = ScanContext {
                scanner: &scanner,
                collector: &collector,
                max_file_size: None,
                threads: 1,
                decode_depth: decode::DEFAULT_DEPTH,
                archives: unpack::Limits::default(),
            };
            let mut worker = Worker::default();
            let mut reader = io::Cursor::new(text.into_bytes());
            scan_reader(&ctx, &mut worker, &mut reader, BlobMeta::path("big")).unwrap();
            let (findings, _) = collector.finish(0);
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(findings[0].location.line, expected_line);
            assert_eq!(findings[0].suppression, Some(Suppression::Inline));
        }
    }

    #[test]
    fn utf16_with_a_bom_decodes() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "key=sk-1".encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        assert_eq!(decode_utf16(&bytes).as_deref(), Some("key=sk-1"));
        assert_eq!(decode_utf16(b"plain"), None);
    }
}
