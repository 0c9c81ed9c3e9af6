//! `--history`: every blob reachable from every ref (or from `--rev`), each distinct
//! blob scanned once.
//!
//! One thread walks the commits, parents before children, and their trees; a tree is
//! read once for each path it appears at, so the walk costs the distinct trees, not
//! commits times files. It records, for each blob, the paths that hold it and the
//! first commit (in that order: the oldest) that holds it there, and hands each new
//! blob to a pool of scanning threads as soon as it is found; each of those opens its
//! own repository (a `git2::Repository` is `Send` but not `Sync`). Findings wait until
//! the walk ends: only then is each known at all its paths, and attributed to the
//! oldest commit that introduced it, so a secret is reported once a path. Commit
//! details are read only for the commits that findings name.
//!
//! Objects missing from the local database (a partial clone, a damaged mirror) are
//! named in a warning and skipped; the scan goes on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use std::iter::Peekable;

use git2::{ObjectType, Oid, Repository, Sort, Tree, TreeEntry, TreeIter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{commit_info, is_missing, OidMap, OidSet};
use crate::finding::{CommitInfo, Finding};
use crate::sources::{find_in_bytes, BlobMeta, ScanContext, Source, Worker};

/// Blobs handed to a scanning thread at once: enough to keep the channel quiet.
const BATCH: usize = 128;
/// Bytes of a pack mapped at once, and in all.
const MWINDOW_SIZE: usize = 32 << 20;
const MWINDOW_MAPPED_LIMIT: usize = 160 << 20;
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
    path_ids: HashMap<Box<[u8]>, PathId, super::FastBuildHasher>,
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
    queue: Mutex<Receiver<Vec<Oid>>>,
    found: Mutex<Vec<(Oid, Vec<Finding>)>>,
    missing: Mutex<Vec<Oid>>,
    bar: ProgressBar,
    scanned: AtomicU64,
}

impl Source for HistorySource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        // Every object read is hashed again unless told otherwise: for a history scan,
        // which reads every blob, that is a second pass over gigabytes for nothing the
        // scan needs (pack checksums already guard against corruption in transit).
        git2::opts::strict_hash_verification(false);
        // Each tree and blob is read once, so libgit2's object cache keeps only
        // commits (which the walk reads twice); and packs are mapped in bounded windows so that peak
        // memory does not grow with the pack.
        // SAFETY: set before this scan opens any repository, from the one thread
        // that uses libgit2 at this point.
        unsafe {
            git2::opts::set_cache_object_limit(ObjectType::Tree, 0)?;
            git2::opts::set_cache_object_limit(ObjectType::Blob, 0)?;
            git2::opts::set_mwindow_size(MWINDOW_SIZE)?;
            git2::opts::set_mwindow_mapped_limit(MWINDOW_MAPPED_LIMIT)?;
        }
        let repo = super::open(&self.repo)?;
        let tips = self.tips(&repo, ctx)?;
        let bar = progress_bar(self.progress);
        let (sender, receiver) = sync_channel::<Vec<Oid>>(ctx.threads * 4);
        let shared = Shared {
            ctx,
            git_dir: repo.path(),
            queue: Mutex::new(receiver),
            found: Mutex::new(Vec::new()),
            missing: Mutex::new(Vec::new()),
            bar,
            scanned: AtomicU64::new(0),
        };
        let walk = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..ctx.threads.max(1))
                .map(|_| scope.spawn(|| scan_blobs(&shared)))
                .collect();
            let walk = walk(&repo, &tips, sender, &shared);
            for worker in workers {
                if let Err(err) = worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a scanning thread panicked")))
                {
                    ctx.collector.error("history", &format!("{err:#}"));
                }
            }
            walk
        })?;
        shared.bar.finish_and_clear();
        let mut missing = walk.missing.clone();
        missing.extend(
            shared
                .missing
                .into_inner()
                .unwrap_or_else(|p| p.into_inner()),
        );
        warn_missing(ctx, &walk, &missing);
        let found = shared.found.into_inner().unwrap_or_else(|p| p.into_inner());
        attribute(ctx, &repo, &walk, found)
    }
}

impl HistorySource {
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
                Ok(object) => {
                    // A tag of a tree or blob is rare, and it has no commit to show.
                    if let Ok(commit) = object.peel_to_commit() {
                        tips.push(Tip::Commit(commit.id()));
                    }
                }
                Err(err) => ctx.collector.warn(&format!(
                    "ref `{name}` points to an object that cannot be read, skipped: {}",
                    err.message()
                )),
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
    sender: SyncSender<Vec<Oid>>,
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
    let mut walker = Walker {
        repo,
        walk: Walk::default(),
        last: HashMap::default(),
        batch: Vec::with_capacity(BATCH),
        sender,
        path: Vec::new(),
    };
    walker.walk.intern(b"");
    for oid in revwalk {
        let oid = match oid {
            Ok(oid) => oid,
            Err(err) => {
                shared.ctx.collector.warn(&format!(
                    "the history walk stopped early, later commits are not scanned: {}",
                    err.message()
                ));
                break;
            }
        };
        let walk = &mut walker.walk;
        let index = CommitIdx::try_from(walk.commits.len()).context("too many commits")?;
        walk.commits.push(oid);
        let tree = match repo.find_commit(oid).map(|c| c.tree_id()) {
            Ok(tree) => tree,
            Err(err) if is_missing(&err) => {
                walk.missing.push(oid);
                continue;
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read commit {oid}")),
        };
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
        ..
    } = walker;
    if !batch.is_empty() {
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
    repo: &'r Repository,
    walk: Walk,
    /// The tree last read at each folder path: a new tree there differs from it in a
    /// few entries, and only those need recording.
    last: HashMap<PathId, Tree<'r>, super::FastBuildHasher>,
    batch: Vec<Oid>,
    sender: SyncSender<Vec<Oid>>,
    /// The path of the tree being read, as a reusable buffer.
    path: Vec<u8>,
}

impl Walker<'_> {
    /// Records the blobs of tree `oid`, found at `self.path`, unless that tree was
    /// already read at that path.
    fn tree(&mut self, oid: Oid, path_id: PathId, commit: CommitIdx) {
        if !self.walk.trees.insert((oid, path_id)) {
            return;
        }
        let tree = match self.repo.find_tree(oid) {
            Ok(tree) => tree,
            Err(_) => {
                self.walk.missing.push(oid);
                return;
            }
        };
        let previous = self.last.remove(&path_id);
        let mut old = previous.as_ref().map(|t| t.iter().peekable());
        for entry in tree.iter() {
            if let Some(old) = old.as_mut() {
                if same_as_before(old, &entry) {
                    continue;
                }
            }
            let len = self.path.len();
            if len > 0 {
                self.path.push(b'/');
            }
            self.path.extend_from_slice(entry.name_bytes());
            match entry.filemode() {
                0o040000 => {
                    let id = self.walk.intern(&self.path);
                    self.tree(entry.id(), id, commit);
                }
                // Regular and executable files (and the group-writable mode that
                // very old git wrote); links and submodules hold no secrets of theirs.
                0o100644 | 0o100755 | 0o100664 => {
                    let id = self.walk.intern(&self.path);
                    let blob = entry.id();
                    let batch = &mut self.batch;
                    let places = self.walk.blobs.entry(blob).or_insert_with(|| {
                        batch.push(blob);
                        Vec::new()
                    });
                    if !places.iter().any(|&(p, _)| p == id) {
                        places.push((id, commit));
                    }
                    if self.batch.len() >= BATCH {
                        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
                        let _ = self.sender.send(full);
                    }
                }
                _ => {}
            }
            self.path.truncate(len);
        }
        self.last.insert(path_id, tree);
    }
}

/// True when the previous tree at the same path holds `entry` unchanged (so its
/// blobs were recorded there already); advances `old`, which is in git's tree order,
/// past the entries that sort before `entry`.
fn same_as_before(old: &mut Peekable<TreeIter<'_>>, entry: &TreeEntry<'_>) -> bool {
    while let Some(before) = old.peek() {
        match tree_order(before, entry) {
            std::cmp::Ordering::Less => {
                old.next();
            }
            std::cmp::Ordering::Equal => {
                let same = before.id() == entry.id() && before.filemode() == entry.filemode();
                old.next();
                return same;
            }
            std::cmp::Ordering::Greater => return false,
        }
    }
    false
}

/// git's order of tree entries: by name, a folder's name read as if it ended in `/`.
fn tree_order(a: &TreeEntry<'_>, b: &TreeEntry<'_>) -> std::cmp::Ordering {
    let (x, y) = (a.name_bytes(), b.name_bytes());
    let n = x.len().min(y.len());
    x[..n].cmp(&y[..n]).then_with(|| {
        let tail = |name: &[u8], e: &TreeEntry<'_>| {
            name.get(n)
                .copied()
                .or((e.filemode() == 0o040000).then_some(b'/'))
        };
        tail(x, a).cmp(&tail(y, b))
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
fn scan_blobs(shared: &Shared) -> anyhow::Result<()> {
    let repo = Repository::open(shared.git_dir)
        .with_context(|| format!("cannot open `{}`", shared.git_dir.display()))?;
    let odb = repo.odb().context("cannot open the object database")?;
    let ctx = shared.ctx;
    let mut worker = Worker::default();
    let mut findings = Vec::new();
    loop {
        let batch = {
            let queue = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.recv()
        };
        let Ok(batch) = batch else { return Ok(()) };
        for oid in batch {
            if let Some(limit) = ctx.max_file_size {
                match odb.read_header(oid) {
                    Ok((size, _)) if size as u64 > limit => {
                        ctx.collector
                            .counters
                            .skipped
                            .fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    _ => {}
                }
            }
            let object = match odb.read(oid) {
                Ok(object) => object,
                Err(err) if is_missing(&err) => {
                    shared
                        .missing
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(oid);
                    continue;
                }
                Err(err) => {
                    ctx.collector.error(&format!("blob {oid}"), err.message());
                    continue;
                }
            };
            let bytes = object.data();
            find_in_bytes(
                ctx.scanner,
                &mut worker,
                bytes,
                BlobMeta::path(""),
                &mut |f| findings.push(f),
            );
            ctx.collector.add_blob(bytes.len() as u64);
            if !findings.is_empty() {
                shared
                    .found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((oid, std::mem::take(&mut findings)));
            }
            shared.scanned.fetch_add(1, Ordering::Relaxed);
            shared.bar.inc(1);
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
    // (path, rule, fingerprint) -> (commit, line, column, finding)
    let mut best: HashMap<(PathId, String), (CommitIdx, u64, u64, &Finding)> = HashMap::new();
    for (oid, findings) in &found {
        let Some(places) = walk.blobs.get(oid) else {
            continue;
        };
        for &(path, commit) in places {
            for finding in findings {
                let rank = (commit, finding.location.line, finding.location.column);
                let key = (path, finding.fingerprint.clone());
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
    for ((path, _), (commit, _, _, finding)) in best {
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
        placed.location.path = walk.path(path);
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
            Some(&(path, _)) => format!("{oid} (`{}`)", walk.path(path)),
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
