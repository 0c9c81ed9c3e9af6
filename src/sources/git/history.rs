//! `--history`: every blob reachable from every ref (or from `--rev`), each distinct
//! blob scanned once.
//!
//! One thread walks the commits, parents before children, and their trees; a tree is
//! read once for each path it appears at, raw, and only the entries that differ from
//! the previous tree at that path are looked at, so the walk costs the changes, not
//! commits times files. It records, for each blob, the paths that hold it and the
//! first commit (in that order: the oldest) that holds it there.
//!
//! Meanwhile the blobs are read and scanned. With every ref to scan, `git cat-file
//! --batch` processes stream every local blob in pack order (see [`stream`] for why),
//! each read and scanned by a thread of its own; with `--rev`, or without git, the walk hands each new blob to
//! threads that read it with libgit2, each with its own repository (a
//! `git2::Repository` is `Send` but not `Sync`). Findings wait until the walk ends:
//! only then is each blob known at all its paths, and each secret attributed, once a
//! path, to the oldest commit that introduced it. Commit details are read only for
//! the commits that findings name.
//!
//! The walk also scans each commit's message, once a commit, as it meets it, and the
//! annotated tags' messages are scanned after it ([`super::tags`]).
//!
//! Objects missing from the local database (a partial clone, a damaged mirror) are
//! named in a warning and skipped; the scan goes on.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::iter::Peekable;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use git2::{ObjectType, Odb, OdbObject, Oid, Repository, Sort};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{commit_info, is_missing, OidMap, OidSet};
use crate::finding::{CommitInfo, Finding, MessageOf};
use crate::sources::message::scan_message;
use crate::sources::{find_in_bytes, BlobMeta, ScanContext, Source, Worker};

/// Blobs handed to a scanning thread at once: enough to keep the channel quiet.
const BATCH: usize = 128;
/// Bytes of a pack mapped at once, and in all.
const MWINDOW_SIZE: usize = 32 << 20;
const MWINDOW_MAPPED_LIMIT: usize = 64 << 20;
/// `git cat-file` processes a history scan runs at most.
const MAX_GIT_PROCESSES: usize = 4;
/// Set (to anything) to read every blob with libgit2, without a `git` process.
pub const NO_GIT_PROCESS: &str = "KEYGATE_NO_GIT_PROCESS";
/// Bytes a stream reader holds at once; a larger blob grows its buffer for as long
/// as it is scanned.
const STREAM_BUFFER: usize = 1 << 20;
/// Missing objects named one by one in the warning; more are counted.
const MISSING_NAMED: usize = 50;

/// Every blob of a repository's history.
#[derive(Clone, Debug)]
pub struct HistorySource {
    pub repo: PathBuf,
    /// Revisions to walk from; every ref (and HEAD) when empty.
    pub revs: Vec<String>,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

/// Index of a path in [`Walk::paths`].
type PathId = u32;
/// Index of a commit in [`Walk::commits`]: lower is older.
type CommitIdx = u32;

/// What the walk learns: commits in order, paths, and where each blob sits.
#[derive(Default)]
struct Walk {
    commits: Vec<Oid>,
    paths: Vec<Box<[u8]>>,
    /// Paths are chosen by whoever wrote the history, so they are hashed with a
    /// randomly keyed SipHash: with the fast hasher, a repository of crafted
    /// colliding paths would turn each lookup into a scan of the whole table.
    path_ids: HashMap<Box<[u8]>, PathId, std::hash::RandomState>,
    /// Each blob's paths, each with the oldest commit that holds the blob there.
    blobs: OidMap<Vec<(PathId, CommitIdx)>>,
    /// Trees already read, with the path they were read at.
    trees: std::collections::HashSet<(Oid, PathId), super::FastBuildHasher>,
    missing: Vec<Oid>,
}

/// Shared between the walking thread and the scanning threads.
struct Shared<'a> {
    ctx: &'a ScanContext<'a>,
    git_dir: &'a Path,
    /// Where the objects are: the git folder, or for a linked worktree the main one's.
    common_dir: &'a Path,
    found: Mutex<Vec<(Oid, Vec<Finding>)>>,
    missing: Mutex<Vec<Oid>>,
    bar: ProgressBar,
}

impl Source for HistorySource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        // Declared before the repository, so dropped after it: the options hold for
        // every read of this scan and are restored however it ends.
        let _options = ScanOptions::set()?;
        let repo = super::open(&self.repo)?;
        super::guard_loose_commits(&repo)?;
        let tips = self.tips(&repo, ctx)?;
        let shared = Shared {
            ctx,
            git_dir: repo.path(),
            common_dir: repo.commondir(),
            found: Mutex::new(Vec::new()),
            missing: Mutex::new(Vec::new()),
            bar: progress_bar(self.progress),
        };
        // With every ref to scan, git itself streams every object of the database
        // while the walk runs (see `stream`); what it did not stream (a missing
        // object, or all of them if it could not run) is read with libgit2 after.
        let streamed = if self.revs.is_empty() && std::env::var_os(NO_GIT_PROCESS).is_none() {
            stream(&repo, &tips, &shared)
        } else {
            None
        };
        let walk = match streamed {
            Some((walk, seen)) => {
                let rest: Vec<Oid> = walk
                    .blobs
                    .keys()
                    .filter(|oid| !seen.contains(oid))
                    .copied()
                    .collect();
                with_libgit2(&shared, |sender| {
                    for chunk in rest.chunks(BATCH) {
                        let _ = sender.send(chunk.to_vec());
                    }
                    Ok(())
                })?;
                walk
            }
            None => with_libgit2(&shared, |sender| walk(&repo, &tips, Some(sender), &shared))?,
        };
        shared.bar.finish_and_clear();
        let mut missing = walk.missing.clone();
        missing.extend(
            shared
                .missing
                .into_inner()
                .unwrap_or_else(|p| p.into_inner()),
        );
        warn_missing(ctx, &walk, &missing);
        self.scan_tags(ctx, &repo, &walk);
        let found = shared.found.into_inner().unwrap_or_else(|p| p.into_inner());
        attribute(ctx, &repo, &walk, found)
    }
}

/// libgit2's process-wide options as a history scan wants them, restored when dropped.
///
/// They are global to libgit2, so they are scoped to the scan: keygate runs one scan
/// at a time, and a program that uses keygate as a library gets its libgit2 back as
/// it was once the scan returns (libgit2 offers no getter for caching and hash
/// verification, so those two return to libgit2's defaults, both on).
struct ScanOptions {
    mwindow_size: libc::size_t,
    mwindow_mapped_limit: libc::size_t,
}

impl ScanOptions {
    fn set() -> anyhow::Result<ScanOptions> {
        // SAFETY: these calls only read and write libgit2's global settings; they run
        // before this scan opens a repository, from the one thread that uses libgit2
        // at this point, so no pack window is being mapped meanwhile.
        let saved = unsafe {
            ScanOptions {
                mwindow_size: git2::opts::get_mwindow_size()?,
                mwindow_mapped_limit: git2::opts::get_mwindow_mapped_limit()?,
            }
        };
        // Every object read is hashed again unless told otherwise: for a history scan,
        // which reads every blob, that is a second pass over gigabytes for nothing the
        // scan needs (pack checksums already guard against corruption in transit).
        git2::opts::strict_hash_verification(false);
        // Each object is read once, so libgit2's object cache would only cost memory
        // and locking; and packs are mapped in bounded windows so that peak memory
        // does not grow with the pack.
        git2::opts::enable_caching(false);
        // SAFETY: as above.
        unsafe {
            git2::opts::set_mwindow_size(MWINDOW_SIZE)?;
            git2::opts::set_mwindow_mapped_limit(MWINDOW_MAPPED_LIMIT)?;
        }
        Ok(saved)
    }
}

impl Drop for ScanOptions {
    fn drop(&mut self) {
        git2::opts::strict_hash_verification(true);
        git2::opts::enable_caching(true);
        // SAFETY: dropped after the scan's repository and its threads (scoped) are
        // gone, so nothing maps pack windows while the limits change back.
        unsafe {
            let _ = git2::opts::set_mwindow_size(self.mwindow_size);
            let _ = git2::opts::set_mwindow_mapped_limit(self.mwindow_mapped_limit);
        }
    }
}

/// Runs `produce` (which sends blob ids) beside a pool of threads that read those
/// blobs with libgit2 and scan them.
fn with_libgit2<T>(
    shared: &Shared,
    produce: impl FnOnce(SyncSender<Vec<Oid>>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let threads = shared.ctx.threads.max(1);
    let (sender, receiver) = sync_channel::<Vec<Oid>>(threads * 4);
    let queue = Mutex::new(receiver);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| scan_blobs(shared, &queue)))
            .collect();
        let produced = produce(sender);
        for worker in workers {
            if let Err(err) = worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a scanning thread panicked")))
            {
                shared.ctx.collector.error("history", &format!("{err:#}"));
            }
        }
        produced
    })
}

/// Walks the history while `git cat-file --batch` processes stream every blob of
/// the database in pack order, each to a thread that scans what it streams. Returns the walk and
/// the blobs streamed, or `None` (nothing scanned) when git cannot run here.
///
/// Why git processes: reading every blob is the hot path of a history scan, and
/// libgit2 reads deltified blobs several times slower than git does in pack order
/// (measured on git/git: see `benches/history.sh`). The blobs are listed first
/// (`--batch-check`, which inflates nothing) and split into contiguous runs of the
/// pack, one process a run, so that inflating uses every core. Blobs no ref
/// reaches are scanned too, and dropped: no path or commit holds them. Nothing is
/// fetched: only objects listed as local are asked for, with `GIT_NO_LAZY_FETCH`.
fn stream(repo: &Repository, tips: &[Tip], shared: &Shared) -> Option<(Walk, OidSet)> {
    // The walk starts at once, beside the listing of the blobs and the start of the
    // git processes: the listing alone takes a core for a fraction of a second.
    let (walk, streamed) = std::thread::scope(|scope| {
        let streamer = scope.spawn(|| stream_blobs(shared));
        let walk = walk(repo, tips, None, shared);
        (walk, streamer.join())
    });
    let walk = match walk {
        Ok(walk) => walk,
        Err(err) => {
            shared.ctx.collector.error("history", &format!("{err:#}"));
            return None;
        }
    };
    // When git could not run, nothing was streamed and libgit2 reads every blob.
    let seen = match streamed {
        Ok(Some((seen, errors))) => {
            if let Some(first) = errors.first() {
                shared.ctx.collector.warn(&format!(
                    "`git cat-file` did not stream every object ({}); the rest is read with libgit2",
                    first.trim().lines().next().unwrap_or("no message")
                ));
            }
            seen
        }
        Ok(None) => OidSet::default(),
        Err(_) => {
            shared.ctx.collector.warn(
                "`git cat-file` did not stream every object (a reading thread panicked); \
                 the rest is read with libgit2",
            );
            OidSet::default()
        }
    };
    Some((walk, seen))
}

/// Lists the blobs, runs the `git cat-file --batch` processes and scans what they
/// stream. Returns the blobs streamed and what went wrong with the processes, or
/// `None` (nothing streamed) when git cannot run here.
fn stream_blobs(shared: &Shared) -> Option<(OidSet, Vec<String>)> {
    let git_dir = shared.git_dir;
    let blobs = list_blobs(git_dir)?;
    let processes = shared.ctx.threads.clamp(1, MAX_GIT_PROCESSES);
    let run = blobs.len().div_ceil(processes).max(1);
    let mut children = Vec::new();
    for part in blobs.chunks(run) {
        let mut child = git(git_dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let stdout = child.stdout.take()?;
        widen_pipe(&stdout);
        let stderr = child.stderr.take()?;
        children.push((child, part, stdin, stdout, stderr));
    }
    let mut waits = Vec::new();
    let (seen, mut errors) = std::thread::scope(|scope| {
        let mut readers = Vec::new();
        let mut errors = Vec::new();
        for (child, part, stdin, stdout, mut stderr) in children {
            scope.spawn(move || write_ids(stdin, part));
            readers.push(scope.spawn(move || scan_stream(stdout, shared)));
            errors.push(scope.spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            }));
            waits.push(child);
        }
        let mut seen = OidSet::default();
        let mut failed = false;
        for reader in readers {
            match reader.join() {
                Ok(Ok(part)) => seen.extend(part),
                _ => failed = true,
            }
        }
        let mut text: Vec<String> = errors
            .into_iter()
            .filter_map(|e| e.join().ok())
            .filter(|t| !t.trim().is_empty())
            .collect();
        if failed && text.is_empty() {
            text.push("its output could not be read".into());
        }
        (seen, text)
    });
    for mut child in waits {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => errors.push(format!("`git cat-file` exited with {status}")),
            Err(err) => errors.push(err.to_string()),
        }
    }
    Some((seen, errors))
}

/// A `git` command on this repository's database alone, with bounded memory.
fn git(git_dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("--git-dir")
        .arg(git_dir)
        .args([
            "--no-replace-objects",
            "-c",
            "core.packedGitLimit=96m",
            "-c",
            "core.packedGitWindowSize=32m",
            "-c",
            "core.deltaBaseCacheLimit=32m",
        ])
        .env("GIT_NO_LAZY_FETCH", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES");
    command
}

/// Every blob of the local database, in pack order; `None` if git cannot list them.
fn list_blobs(git_dir: &Path) -> Option<Vec<Oid>> {
    let out = git(git_dir)
        .args([
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(objecttype)",
            "--unordered",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut blobs = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n') {
        if let Some(id) = line.strip_suffix(b" blob") {
            blobs.push(Oid::from_str(std::str::from_utf8(id).ok()?).ok()?);
        }
    }
    Some(blobs)
}

/// Feeds object ids to `git cat-file --batch`, one a line.
fn write_ids(stdin: ChildStdin, ids: &[Oid]) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdin);
    for id in ids {
        if writeln!(out, "{id}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// A pipe of 64 KiB (the Linux default) costs a context switch for every few blobs;
/// a wider one lets git and the reader run in longer strides. Best effort.
#[cfg(target_os = "linux")]
fn widen_pipe(pipe: &ChildStdout) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on a pipe we own only changes its capacity; a failure
    // (a lower system limit) leaves the pipe as it was.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

#[cfg(not(target_os = "linux"))]
fn widen_pipe(_: &ChildStdout) {}

/// Reads `git cat-file --batch` output (a header line `<id> <type> <size>`, the
/// content, a newline) and scans each blob where it lies in the read buffer;
/// returns the ids of the blobs read.
///
/// Each git process has one thread that reads and scans its output: handing each
/// blob to a pool of scanners cost two context switches a blob and a copy of every
/// byte, while the pipe already lets git inflate ahead of the scan.
fn scan_stream(stdout: ChildStdout, shared: &Shared) -> std::io::Result<OidSet> {
    let mut stream = Stream::new(stdout);
    let mut worker = Worker::default();
    let mut findings = Vec::new();
    let mut seen = OidSet::default();
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    loop {
        let Some(line) = stream.line()? else {
            return Ok(seen);
        };
        let line = std::str::from_utf8(&stream.buf[line])
            .map_err(|_| invalid("a header that is not UTF-8"))?;
        let mut parts = line.trim_end().split(' ');
        let (Some(id), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
            // `<id> missing` cannot come from --batch-all-objects; skip it anyway.
            continue;
        };
        let size: u64 = size.parse().map_err(|_| invalid("a bad object size"))?;
        let oid = Oid::from_str(id).map_err(|_| invalid("a bad object id"))?;
        let is_blob = kind == "blob";
        if is_blob {
            seen.insert(oid);
        }
        if is_blob && !shared.ctx.too_large(&format!("blob {oid}"), size) {
            let size = usize::try_from(size).map_err(|_| invalid("an object too large"))?;
            let content = stream.take(size)?;
            scan_blob(shared, &mut worker, &mut findings, oid, content);
        } else {
            stream.skip(size)?;
        }
        stream.take(1)?;
    }
}

/// A read buffer over a `git cat-file --batch` stream that lends each object in
/// place: no copy of a blob out of the buffer, and no allocation a blob.
struct Stream<R> {
    inner: R,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
}

impl<R: Read> Stream<R> {
    fn new(inner: R) -> Self {
        Stream {
            inner,
            buf: vec![0; STREAM_BUFFER],
            start: 0,
            end: 0,
        }
    }

    /// Reads until `n` unread bytes are buffered; false if the stream ends first.
    fn fill(&mut self, n: usize) -> std::io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.start + n > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if n > self.buf.len() {
                self.buf.resize(n, 0);
            } else if self.buf.len() > STREAM_BUFFER && n <= STREAM_BUFFER {
                // A large blob is done with: give its memory back.
                self.buf.truncate(STREAM_BUFFER.max(self.end));
                self.buf.shrink_to_fit();
            }
        }
        while self.end - self.start < n {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(read) => self.end += read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(true)
    }

    /// The next line, without its newline, as a range of `buf`; a last line
    /// without a newline counts; `None` at the end of the stream.
    fn line(&mut self) -> std::io::Result<Option<std::ops::Range<usize>>> {
        let mut searched = 0;
        loop {
            let unread = &self.buf[self.start + searched..self.end];
            if let Some(at) = memchr::memchr(b'\n', unread) {
                let line = self.start..self.start + searched + at;
                self.start = line.end + 1;
                return Ok(Some(line));
            }
            searched = self.end - self.start;
            if !self.fill(searched + 1)? {
                if searched == 0 {
                    return Ok(None);
                }
                let line = self.start..self.end;
                self.start = self.end;
                return Ok(Some(line));
            }
        }
    }

    /// The next `n` bytes, or an error if the stream ends before them.
    fn take(&mut self, n: usize) -> std::io::Result<&[u8]> {
        if !self.fill(n)? {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let taken = self.start..self.start + n;
        self.start += n;
        Ok(&self.buf[taken])
    }

    /// Passes over the next `n` bytes without holding them all.
    fn skip(&mut self, mut n: u64) -> std::io::Result<()> {
        while n > 0 {
            let step = n.min(STREAM_BUFFER as u64) as usize;
            self.take(step)?;
            n -= step as u64;
        }
        Ok(())
    }
}

/// Scans one blob and keeps its findings, which get paths and commits later.
fn scan_blob(
    shared: &Shared,
    worker: &mut Worker,
    findings: &mut Vec<Finding>,
    oid: Oid,
    bytes: &[u8],
) {
    let ctx = shared.ctx;
    // The path is not known yet (`attribute` sets it); the id names the blob in
    // warnings about archives in it.
    let name = format!("blob {oid}");
    find_in_bytes(ctx, worker, bytes, BlobMeta::path(&name), &mut |f| {
        findings.push(f)
    });
    ctx.collector.add_blob(bytes.len() as u64);
    if !findings.is_empty() {
        shared
            .found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((oid, std::mem::take(findings)));
    }
    shared.bar.inc(1);
}

impl HistorySource {
    /// Scans the messages of annotated tags: every tag a ref names, or with `--rev`
    /// the tags named there, when they tag a commit the walk met.
    fn scan_tags(&self, ctx: &ScanContext, repo: &Repository, walk: &Walk) {
        let objects: Vec<Oid> = if self.revs.is_empty() {
            super::tags::ref_targets(repo)
        } else {
            self.revs
                .iter()
                .filter_map(|rev| repo.revparse_single(rev).ok())
                .map(|object| object.id())
                .collect()
        };
        let walked: OidSet = walk.commits.iter().copied().collect();
        let all = self.revs.is_empty();
        super::tags::scan_tags(ctx, repo, &objects, &mut OidSet::default(), &|commit| {
            all || commit.is_some_and(|c| walked.contains(&c))
        });
    }

    /// The commits to walk from: `--rev`, or every ref and HEAD.
    fn tips(&self, repo: &Repository, ctx: &ScanContext) -> anyhow::Result<Vec<Tip>> {
        let mut tips = Vec::new();
        if !self.revs.is_empty() {
            for rev in &self.revs {
                if rev.contains("..") {
                    tips.push(Tip::Range(rev.clone()));
                    continue;
                }
                let commit = repo
                    .revparse_single(rev)
                    .and_then(|o| o.peel_to_commit())
                    .with_context(|| format!("--rev `{rev}` does not name a commit"))?;
                tips.push(Tip::Commit(commit.id()));
            }
            return Ok(tips);
        }
        let refs = repo.references().context("cannot list the refs")?;
        for reference in refs {
            let reference = match reference {
                Ok(r) => r,
                Err(err) => {
                    ctx.collector
                        .warn(&format!("a ref cannot be read: {}", err.message()));
                    continue;
                }
            };
            let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
            match reference.peel(ObjectType::Any) {
                // A tag of a tree or a blob (rare) has no commit to show: passed over.
                Ok(object) => {
                    if let Ok(commit) = object.peel_to_commit() {
                        tips.push(Tip::Commit(commit.id()));
                    }
                }
                // A commit the repository lacks (a damaged mirror, a hand-made ref) is
                // skipped with a warning; one it holds but cannot read is damage that
                // would hide that history, so the scan fails (exit 2).
                Err(err) if is_missing(&err) || !holds_target(repo, &reference) => {
                    ctx.collector.warn(&format!(
                        "ref `{}` points to a commit that is not in the repository, skipped: {}",
                        crate::quote::path(&name),
                        err.message()
                    ))
                }
                Err(err) => ctx.collector.error(
                    &format!("ref {name}"),
                    &format!(
                        "its commit cannot be read (a damaged object database?): {}",
                        err.message()
                    ),
                ),
            }
        }
        if let Ok(head) = repo.head() {
            if let Ok(commit) = head.peel_to_commit() {
                tips.push(Tip::Commit(commit.id()));
            }
        }
        Ok(tips)
    }
}

/// True when the object `reference` finally names is in the object database (it
/// may still be unreadable); false for a dangling ref. libgit2 reports a peel of
/// either with the same error code, so the database is asked.
fn holds_target(repo: &Repository, reference: &git2::Reference) -> bool {
    let target = reference.resolve().ok().and_then(|r| r.target());
    match (target, repo.odb()) {
        (Some(oid), Ok(odb)) => odb.exists(oid),
        _ => false,
    }
}

/// Where the walk starts.
enum Tip {
    Commit(Oid),
    /// `A..B`, as `--rev` may give it.
    Range(String),
}

/// Walks the commits and their trees, sending each new blob to the scanners.
fn walk(
    repo: &Repository,
    tips: &[Tip],
    sender: Option<SyncSender<Vec<Oid>>>,
    shared: &Shared,
) -> anyhow::Result<Walk> {
    let mut revwalk = repo.revwalk().context("cannot walk the history")?;
    revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)?;
    for tip in tips {
        match tip {
            Tip::Commit(oid) => revwalk.push(*oid)?,
            Tip::Range(range) => revwalk
                .push_range(range)
                .with_context(|| format!("--rev `{range}`"))?,
        }
    }
    let odb = repo.odb().context("cannot open the object database")?;
    let mut walker = Walker {
        odb: &odb,
        walk: Walk::default(),
        last: HashMap::default(),
        batch: Vec::with_capacity(BATCH),
        sender,
        path: Vec::new(),
        git_dir: repo.commondir(),
        damaged: Vec::new(),
    };
    walker.walk.intern(b"");
    let mut messages = Worker::default();
    for oid in revwalk {
        let oid = match oid {
            Ok(oid) => oid,
            Err(err) => {
                let message = format!(
                    "the history walk stopped early, later commits are not scanned: {}",
                    err.message()
                );
                if is_missing(&err) {
                    shared.ctx.collector.warn(&message);
                } else {
                    shared.ctx.collector.error("history", &message);
                }
                break;
            }
        };
        let walk = &mut walker.walk;
        let index = CommitIdx::try_from(walk.commits.len()).context("too many commits")?;
        walk.commits.push(oid);
        let commit = match repo.find_commit(oid) {
            Ok(commit) => commit,
            Err(err) if is_missing(&err) => {
                walk.missing.push(oid);
                continue;
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read commit {oid}")),
        };
        // The walk meets each commit once, whatever number of refs reach it: its
        // message is scanned here, on this thread, as it is already in memory.
        scan_message(
            shared.ctx,
            &mut messages,
            commit.message_bytes(),
            &MessageOf::Commit,
            || Some(Arc::new(commit_info(&commit))),
        );
        let tree = commit.tree_id();
        walker.path.clear();
        walker.tree(tree, 0, index);
        if index % 1024 == 0 {
            shared.bar.set_message(format!("{index} commits"));
        }
    }
    let Walker {
        walk,
        batch,
        sender,
        damaged,
        ..
    } = walker;
    for damage in damaged {
        shared.ctx.collector.error("history", &damage);
    }
    if let (false, Some(sender)) = (batch.is_empty(), sender) {
        // The scanners only stop when the channel closes, so a send cannot fail.
        let _ = sender.send(batch);
    }
    shared
        .bar
        .set_message(format!("{} commits", walk.commits.len()));
    Ok(walk)
}

/// The walking thread's state.
struct Walker<'r> {
    odb: &'r Odb<'r>,
    walk: Walk,
    /// The tree last read at each folder path, raw: a new tree there differs from it
    /// in a few entries, and only those need recording.
    last: HashMap<PathId, OdbObject<'r>, super::FastBuildHasher>,
    batch: Vec<Oid>,
    /// Where new blobs go to be read and scanned, when the walk feeds the scanners.
    sender: Option<SyncSender<Vec<Oid>>>,
    /// The path of the tree being read, as a reusable buffer.
    path: Vec<u8>,
    /// Where the objects are (the git folder, or a linked worktree's main one): loose
    /// objects are checked there before reading.
    git_dir: &'r Path,
    /// What [`super::check_loose`] found wrong with trees, reported as errors.
    damaged: Vec<String>,
}

impl Walker<'_> {
    /// Records the blobs of tree `oid`, found at `self.path`, unless that tree was
    /// already read at that path.
    ///
    /// Trees are read raw and parsed here: a history holds hundreds of thousands of
    /// tree versions, nearly identical to the one before at the same path, and
    /// comparing raw entries skips the unchanged ones for the price of a `memcmp`.
    fn tree(&mut self, oid: Oid, path_id: PathId, commit: CommitIdx) {
        if !self.walk.trees.insert((oid, path_id)) {
            return;
        }
        if let Err(damage) = super::check_loose(self.git_dir, oid) {
            self.damaged.push(damage);
            return;
        }
        let tree = match self.odb.read(oid) {
            Ok(tree) if tree.kind() == ObjectType::Tree => tree,
            _ => {
                self.walk.missing.push(oid);
                return;
            }
        };
        let previous = self.last.remove(&path_id);
        let mut old = RawEntries::new(previous.as_ref().map_or(&[][..], |t| t.data())).peekable();
        for entry in RawEntries::new(tree.data()) {
            if same_as_before(&mut old, &entry) {
                continue;
            }
            let len = self.path.len();
            if len > 0 {
                self.path.push(b'/');
            }
            self.path.extend_from_slice(entry.name);
            let Ok(id) = Oid::from_bytes(entry.id) else {
                self.path.truncate(len);
                continue;
            };
            match entry.mode {
                b"40000" => {
                    let path_id = self.walk.intern(&self.path);
                    self.tree(id, path_id, commit);
                }
                // Regular and executable files (and the group-writable mode that
                // very old git wrote); links and submodules hold no secrets of theirs.
                b"100644" | b"100755" | b"100664" => {
                    let path_id = self.walk.intern(&self.path);
                    self.blob(id, path_id, commit);
                }
                _ => {}
            }
            self.path.truncate(len);
        }
        self.last.insert(path_id, tree);
    }

    fn blob(&mut self, blob: Oid, path_id: PathId, commit: CommitIdx) {
        let feeding = self.sender.is_some();
        let batch = &mut self.batch;
        let places = self.walk.blobs.entry(blob).or_insert_with(|| {
            if feeding {
                batch.push(blob);
            }
            Vec::new()
        });
        if !places.iter().any(|&(p, _)| p == path_id) {
            places.push((path_id, commit));
        }
        if let (true, Some(sender)) = (self.batch.len() >= BATCH, &self.sender) {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let _ = sender.send(full);
        }
    }
}

/// One entry of a raw tree object: `<mode> <name>\0<object id>`.
struct RawEntry<'a> {
    mode: &'a [u8],
    name: &'a [u8],
    id: &'a [u8],
    /// The whole entry: two entries are the same when these bytes are.
    raw: &'a [u8],
}

/// The entries of a raw tree object, in git's order; stops at the first malformed one.
struct RawEntries<'a> {
    data: &'a [u8],
}

impl<'a> RawEntries<'a> {
    fn new(data: &'a [u8]) -> Self {
        RawEntries { data }
    }
}

/// Bytes of an object id in a raw tree (SHA-1 repositories).
const RAW_ID: usize = 20;

impl<'a> Iterator for RawEntries<'a> {
    type Item = RawEntry<'a>;

    fn next(&mut self) -> Option<RawEntry<'a>> {
        let data = self.data;
        let space = memchr::memchr(b' ', data)?;
        let nul = space + 1 + memchr::memchr(0, &data[space + 1..])?;
        let end = nul + 1 + RAW_ID;
        if end > data.len() {
            self.data = &[];
            return None;
        }
        self.data = &data[end..];
        Some(RawEntry {
            mode: &data[..space],
            name: &data[space + 1..nul],
            id: &data[nul + 1..end],
            raw: &data[..end],
        })
    }
}

/// True when the previous tree at the same path holds `entry` unchanged (so its
/// blobs were recorded there already); advances `old`, which is in git's tree order,
/// past the entries that sort before `entry`.
fn same_as_before(old: &mut Peekable<RawEntries<'_>>, entry: &RawEntry<'_>) -> bool {
    while let Some(before) = old.peek() {
        if before.raw == entry.raw {
            old.next();
            return true;
        }
        match tree_order(before, entry) {
            std::cmp::Ordering::Less => {
                old.next();
            }
            std::cmp::Ordering::Equal => {
                old.next();
                return false;
            }
            std::cmp::Ordering::Greater => return false,
        }
    }
    false
}

/// git's order of tree entries: by name, a folder's name read as if it ended in `/`.
fn tree_order(a: &RawEntry<'_>, b: &RawEntry<'_>) -> std::cmp::Ordering {
    let n = a.name.len().min(b.name.len());
    a.name[..n].cmp(&b.name[..n]).then_with(|| {
        let tail = |e: &RawEntry<'_>| {
            e.name
                .get(n)
                .copied()
                .or((e.mode == b"40000").then_some(b'/'))
        };
        tail(a).cmp(&tail(b))
    })
}

impl Walk {
    fn intern(&mut self, path: &[u8]) -> PathId {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = PathId::try_from(self.paths.len()).expect("fewer than 4 billion paths");
        self.paths.push(path.into());
        self.path_ids.insert(path.into(), id);
        id
    }

    fn path(&self, id: PathId) -> String {
        String::from_utf8_lossy(&self.paths[id as usize]).into_owned()
    }
}

/// A scanning thread: reads blobs from its own repository and scans them.
fn scan_blobs(shared: &Shared, queue: &Mutex<Receiver<Vec<Oid>>>) -> anyhow::Result<()> {
    let repo = Repository::open(shared.git_dir)
        .with_context(|| format!("cannot open `{}`", shared.git_dir.display()))?;
    let odb = repo.odb().context("cannot open the object database")?;
    let ctx = shared.ctx;
    let mut worker = Worker::default();
    let mut findings = Vec::new();
    loop {
        let batch = {
            let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.recv()
        };
        let Ok(batch) = batch else { return Ok(()) };
        for oid in batch {
            if ctx.max_file_size.is_some() {
                if let Ok((size, _)) = odb.read_header(oid) {
                    if ctx.too_large(&format!("blob {oid}"), size as u64) {
                        continue;
                    }
                }
            }
            if let Err(damage) = super::check_loose(shared.common_dir, oid) {
                ctx.collector.error(&format!("blob {oid}"), &damage);
                continue;
            }
            match odb.read(oid) {
                Ok(object) => scan_blob(shared, &mut worker, &mut findings, oid, object.data()),
                Err(err) if is_missing(&err) => shared
                    .missing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(oid),
                Err(err) => ctx.collector.error(&format!("blob {oid}"), err.message()),
            }
        }
    }
}

/// Places each blob's findings at every path that holds the blob, keeps for each
/// path and secret the oldest commit, and hands them to the collector.
fn attribute(
    ctx: &ScanContext,
    repo: &Repository,
    walk: &Walk,
    found: Vec<(Oid, Vec<Finding>)>,
) -> anyhow::Result<()> {
    // (path, archive member, fingerprint) -> (commit, line, column, finding)
    type Key = (PathId, Option<String>, String);
    let mut best: HashMap<Key, (CommitIdx, u64, u64, &Finding)> = HashMap::new();
    for (oid, findings) in &found {
        let Some(places) = walk.blobs.get(oid) else {
            continue;
        };
        for &(path, commit) in places {
            for finding in findings {
                let rank = (commit, finding.location.line, finding.location.column);
                let key = (
                    path,
                    finding.location.member.clone(),
                    finding.fingerprint.clone(),
                );
                match best.get(&key) {
                    Some(&(c, l, col, _)) if (c, l, col) <= rank => {}
                    _ => {
                        best.insert(key, (commit, rank.1, rank.2, finding));
                    }
                }
            }
        }
    }
    let mut infos: HashMap<CommitIdx, Arc<CommitInfo>> = HashMap::new();
    for ((path, _, _), (commit, _, _, finding)) in best {
        let info = match infos.get(&commit) {
            Some(info) => Arc::clone(info),
            None => {
                let oid = walk.commits[commit as usize];
                let info = Arc::new(
                    repo.find_commit(oid)
                        .map(|c| commit_info(&c))
                        .with_context(|| format!("cannot read commit {oid}"))?,
                );
                infos.insert(commit, Arc::clone(&info));
                info
            }
        };
        let mut placed = finding.clone();
        placed.location.path = match &finding.location.member {
            // The blob was scanned without a path: its members' paths are completed here.
            Some(member) => format!("{}!{member}", walk.path(path)),
            None => walk.path(path),
        };
        placed.commit = Some(info);
        ctx.collector.push(placed);
    }
    Ok(())
}

/// Names the objects the walk or the scan could not read.
fn warn_missing(ctx: &ScanContext, walk: &Walk, missing: &[Oid]) {
    if missing.is_empty() {
        return;
    }
    let unique: OidSet = missing.iter().copied().collect();
    let mut named: Vec<String> = unique
        .iter()
        .map(|oid| match walk.blobs.get(oid).and_then(|p| p.first()) {
            Some(&(path, _)) => format!("{oid} (`{}`)", crate::quote::path(&walk.path(path))),
            None => oid.to_string(),
        })
        .collect();
    named.sort();
    let total = named.len();
    let more = total.saturating_sub(MISSING_NAMED);
    named.truncate(MISSING_NAMED);
    let mut message = format!(
        "{total} object{} missing from the local object database, skipped: {}",
        if total == 1 { " is" } else { "s are" },
        named.join(", ")
    );
    if more > 0 {
        message.push_str(&format!(" and {more} more"));
    }
    ctx.collector.warn(&message);
}

fn progress_bar(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} scanning history: {human_pos} blobs, {msg} [{elapsed}]",
        )
        .expect("a valid progress template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths, which a repository chooses, are hashed with a key that differs from one
    /// walk to the next, so no set of paths collides everywhere; the unkeyed fast
    /// hasher gives every walk the same value.
    #[test]
    fn paths_are_hashed_with_a_random_key() {
        use std::hash::BuildHasher;
        let path: &[u8] = b"src/colliding/path.py";
        let hashes: std::collections::HashSet<u64> = (0..4)
            .map(|_| Walk::default().path_ids.hasher().hash_one(path))
            .collect();
        assert!(hashes.len() > 1, "the same hash in every walk: {hashes:?}");
    }

    /// The pack window limits a scan sets are its own: once it ends, libgit2 has the
    /// values it had before. (No other unit test touches them.)
    #[test]
    fn libgit2_options_are_restored_after_a_scan() {
        // SAFETY: reads of libgit2's global settings.
        let before = unsafe {
            (
                git2::opts::get_mwindow_size().unwrap(),
                git2::opts::get_mwindow_mapped_limit().unwrap(),
            )
        };
        assert_ne!(
            before.0, MWINDOW_SIZE,
            "the test needs a default that differs"
        );
        {
            let _options = ScanOptions::set().unwrap();
            let during = unsafe { git2::opts::get_mwindow_size().unwrap() };
            assert_eq!(during, MWINDOW_SIZE);
        }
        let after = unsafe {
            (
                git2::opts::get_mwindow_size().unwrap(),
                git2::opts::get_mwindow_mapped_limit().unwrap(),
            )
        };
        assert_eq!(before, after);
    }

    fn raw(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; RAW_ID]);
        }
        out
    }

    /// Reads at most `step` bytes a call, as a pipe may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Headers, blobs larger than the buffer, skipped objects and a last line
    /// without a newline come out of the stream reader whole and in order, however
    /// the pipe cuts them; the buffer shrinks back after a large blob.
    #[test]
    fn the_stream_lends_whole_objects_across_reads() {
        let big: Vec<u8> = (0..3 * STREAM_BUFFER + 7)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut data = b"a blob 3\nabc\n".to_vec();
        data.extend_from_slice(format!("b blob {}\n", big.len()).as_bytes());
        data.extend_from_slice(&big);
        data.extend_from_slice(b"\nc tree 5\nxxxxx\nd missing");
        for step in [1, 4096, 1 << 20, usize::MAX] {
            let mut stream = Stream::new(Trickle { data: &data, step });
            let line = stream.line().unwrap().unwrap();
            assert_eq!(&stream.buf[line], b"a blob 3");
            assert_eq!(stream.take(3).unwrap(), b"abc");
            assert_eq!(stream.take(1).unwrap(), b"\n");
            let line = stream.line().unwrap().unwrap();
            assert_eq!(
                stream.buf[line].len(),
                format!("b blob {}", big.len()).len()
            );
            assert!(stream.take(big.len()).unwrap() == big);
            stream.take(1).unwrap();
            let line = stream.line().unwrap().unwrap();
            assert_eq!(&stream.buf[line], b"c tree 5");
            stream.skip(5).unwrap();
            stream.take(1).unwrap();
            assert_eq!(stream.buf.len(), STREAM_BUFFER);
            let line = stream.line().unwrap().unwrap();
            assert_eq!(&stream.buf[line], b"d missing");
            assert_eq!(stream.line().unwrap(), None);
            assert!(stream.take(1).is_err());
        }
    }

    #[test]
    fn raw_trees_parse_and_stop_at_garbage() {
        let data = raw(&[("100644", "a.txt", 1), ("40000", "src", 2)]);
        let entries: Vec<_> = RawEntries::new(&data).collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].mode, b"100644");
        assert_eq!(entries[1].name, b"src");
        assert_eq!(entries[1].id, &[2; RAW_ID]);
        assert_eq!(RawEntries::new(b"100644 cut\0short").count(), 0);
    }

    #[test]
    fn only_changed_entries_differ_from_the_previous_tree() {
        let old = raw(&[("100644", "a", 1), ("100644", "b", 2), ("40000", "c", 3)]);
        let new = raw(&[
            ("100644", "a", 1),
            ("100644", "a0", 9),
            ("100644", "b", 4),
            ("40000", "c", 3),
        ]);
        let mut before = RawEntries::new(&old).peekable();
        let changed: Vec<Vec<u8>> = RawEntries::new(&new)
            .filter(|e| !same_as_before(&mut before, e))
            .map(|e| e.name.to_vec())
            .collect();
        assert_eq!(changed, vec![b"a0".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn folders_sort_as_if_they_ended_in_a_slash() {
        let data = raw(&[("100644", "a.c", 1), ("40000", "a", 2)]);
        let entries: Vec<_> = RawEntries::new(&data).collect();
        // "a.c" < "a/" because '.' < '/'.
        assert_eq!(
            tree_order(&entries[0], &entries[1]),
            std::cmp::Ordering::Less
        );
    }
}
