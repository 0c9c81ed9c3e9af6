//! The fast path of `--staged`: the index file read directly and compared with HEAD
//! only where its cache-tree says something changed.
//!
//! Reading a large index through `git2` costs more than the whole pre-commit budget:
//! it hashes the whole file (SHA-1 with collision detection), validates and copies
//! every path, and its tree-to-index diff reads every tree HEAD holds. `git` itself
//! skips the index checksum on read and trusts the index's cache-tree extension
//! (`TREE`), which records for each directory the tree the index would write and how
//! many entries it covers, or `-1` once an entry below it changed. A directory whose
//! recorded tree equals HEAD's tree at that path has no staged change, so neither its
//! entries nor HEAD's trees below it need reading. [`read`] decodes the index (versions
//! 2 to 4) with `gix-index`, which skips the checksum as `git` does, and [`diff`]
//! walks HEAD's trees (through `git2`) only along the directories that may differ.
//!
//! Whenever this path cannot promise the answer `git2` gives, it answers `None` and
//! [`super::staged`] runs the `git2` diff instead: an index it does not know (a split
//! or sparse index, an unmerged entry, another version), an index with no cache-tree
//! at all, a case-insensitive repository, a change of kind at one path, and any
//! change set with both additions and deletions, where rename detection could pair
//! them.

use std::cmp::Ordering;
use std::ops::Range;
use std::path::Path;

use anyhow::Context;
use git2::{Oid, Repository, Tree};
use gix_index::extension::Tree as CacheNode;
use gix_index::State;

/// Mode bits of an index or tree entry: the object type.
const KIND_MASK: u32 = 0o170_000;
const TREE_KIND: u32 = 0o040_000;

/// An index read by `gix-index`, with the cache-tree the walk starts from.
#[derive(Debug)]
pub struct Index {
    state: State,
}

/// What the index changes at one path, compared with HEAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedFile {
    pub path: String,
    pub new_id: Oid,
    pub new_mode: u32,
    /// HEAD's blob and mode at the same path; `None` for an added file.
    pub old: Option<(Oid, u32)>,
}

/// How `gix-index` decodes an index of `len` bytes: extensions and entries in one
/// thread, since threads only pay on indexes with an offset table, which git writes
/// only when asked to; and no single allocation larger than [`alloc_limit`] allows.
fn options(len: usize) -> gix_index::decode::Options {
    gix_index::decode::Options {
        thread_limit: Some(1),
        alloc_limit_bytes: Some(alloc_limit(len)),
        ..Default::default()
    }
}

/// The largest allocation `gix-index` may make up front, sized from counts an index
/// of `len` bytes declares. By default it trusts those counts: a cache-tree node that
/// claims 10^14 subtrees asks for petabytes before the first one is read. A sound
/// index reserves far less: each entry takes at least sixty bytes on disk and each
/// cache-tree node at least six, and neither takes a hundred in memory. Vectors that
/// grow while decoding (long v4 paths) are not held to this limit, only the
/// reservations made from declared counts; the floor keeps tiny indexes out of the way.
fn alloc_limit(len: usize) -> usize {
    len.saturating_mul(32).max(64 << 10)
}

/// Reads the index file at `path`, or answers `None` when it holds something the
/// fast path does not handle (see the module documentation). `gix-index` maps the
/// file rather than copying it, and skips the trailing checksum: `git` does not
/// verify it on read either, only `git fsck` does.
///
/// `Err` holds the depth of a cache-tree nested past [`MAX_TREE_DEPTH`]: such an
/// index is damaged, and `git2`, which reads the tree recursively too, must not see
/// it either.
pub fn open(path: &Path) -> Result<Option<Index>, usize> {
    // The length read here only sets the allocation limit and the decoding thread's
    // stack: a file that grows before `gix-index` reads it may fail the limit, and
    // then `git2` answers.
    let Some(len) = std::fs::metadata(path)
        .ok()
        .and_then(|meta| usize::try_from(meta.len()).ok())
    else {
        return Ok(None);
    };
    // `gix-index` merges a split index with its shared index before we see it, so
    // the `link` extension cannot be seen afterwards. A split index always names a
    // `sharedindex.*` file beside it: where such a file exists, the index may have
    // been split, and `git2` answers.
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let shared = std::fs::read_dir(dir).map_or(true, |mut entries| {
        entries.any(|entry| {
            entry.is_ok_and(|entry| {
                entry
                    .file_name()
                    .as_encoded_bytes()
                    .starts_with(b"sharedindex.")
            })
        })
    });
    if shared {
        return Ok(None);
    }
    decoded(len, || {
        gix_index::File::at(path, gix_index::hash::Kind::Sha1, true, options(len))
            .ok()
            .map(|file| file.into_parts().0)
    })
}

/// Decodes an index from its bytes, as [`open`] does from its file (tests and the
/// fuzz target feed it bytes no file holds); `None` for one nested too deep, too.
pub(crate) fn read(data: &[u8]) -> Option<Index> {
    decoded(data.len(), || {
        let time = filetime::FileTime::zero();
        State::from_bytes(data, time, gix_index::hash::Kind::Sha1, options(data.len()))
            .ok()
            .map(|(state, _checksum)| state)
    })
    .ok()
    .flatten()
}

/// The deepest cache-tree a sound index holds: a node a directory level, and git's
/// paths are at most 4096 bytes, so 2048 levels at the very most.
pub const MAX_TREE_DEPTH: usize = 4096;

/// Runs `decode` (an index of `len` bytes) on a thread whose stack holds the deepest
/// cache-tree such an index can encode, and keeps the result only when its tree is
/// within [`MAX_TREE_DEPTH`]; `Err` gives the depth of one that is not.
///
/// `gix-index` decodes the cache-tree recursively, a stack frame a level, and a level
/// takes six bytes on disk: an index of a few megabytes can nest a million levels,
/// which overflows the main thread's stack (a crash, not an answer). The stack given
/// here is reserved, not used: only a tree that deep touches it. A tree past the
/// limit is dropped there too, as dropping it recurses as well.
fn decoded(
    len: usize,
    decode: impl FnOnce() -> Option<State> + Send,
) -> Result<Option<Index>, usize> {
    let stack = len.saturating_mul(64).saturating_add(16 << 20);
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("keygate-index".into())
            .stack_size(stack)
            .spawn_scoped(scope, move || {
                let Some(state) = decode() else {
                    return Ok(None);
                };
                let depth = state.tree().map_or(0, tree_depth);
                if depth > MAX_TREE_DEPTH {
                    drop(state);
                    return Err(depth);
                }
                Ok(accept(state))
            });
        match worker {
            Ok(handle) => handle.join().unwrap_or(Ok(None)),
            // No thread to be had: the fast path steps aside.
            Err(_) => Ok(None),
        }
    })
}

/// The number of levels of a decoded cache-tree, counted without recursion.
fn tree_depth(root: &CacheNode) -> usize {
    let mut deepest = 0;
    let mut open = vec![(root, 1usize)];
    while let Some((node, depth)) = open.pop() {
        deepest = deepest.max(depth);
        open.extend(node.children.iter().map(|child| (child, depth + 1)));
    }
    deepest
}

/// The decoded index, or `None` when the walk could not rely on it.
fn accept(state: State) -> Option<Index> {
    // A split index's entries live partly in another file, and a sparse index's
    // directory entries stand for trees the walk would have to expand.
    if state.link().is_some() || state.is_sparse() || state.tree().is_none() {
        return None;
    }
    let entries = state.entries();
    for (i, entry) in entries.iter().enumerate() {
        // An unmerged path, or a directory entry outside a marked sparse index.
        if entry.stage_raw() != 0 || kind(entry.mode.bits()) == TREE_KIND {
            return None;
        }
        // Paths must come in git's order (sorted, each once) for the directory
        // ranges of the walk to be contiguous; git checks the same on read.
        if i > 0 && entry.path(&state) <= entries[i - 1].path(&state) {
            return None;
        }
    }
    Some(Index { state })
}

impl Index {
    fn path(&self, i: usize) -> &[u8] {
        self.state.entries()[i].path(&self.state)
    }

    fn mode(&self, i: usize) -> u32 {
        self.state.entries()[i].mode.bits()
    }

    fn id(&self, i: usize) -> Oid {
        Oid::from_bytes(self.state.entries()[i].id.as_bytes())
            .expect("a SHA-1 index holds twenty-byte ids")
    }

    fn file(&self, i: usize, old: Option<(Oid, u32)>) -> StagedFile {
        StagedFile {
            path: String::from_utf8_lossy(self.path(i)).into_owned(),
            new_id: self.id(i),
            new_mode: self.mode(i),
            old,
        }
    }
}

/// Compares the index with HEAD's tree (`None` on an unborn branch) and lists the
/// files it adds or modifies, sorted by path; `None` when only the `git2` diff can
/// give the answer (a change of kind, or additions beside deletions).
pub fn diff(
    repo: &Repository,
    head: Option<&Tree>,
    index: &Index,
) -> anyhow::Result<Option<Vec<StagedFile>>> {
    let mut walk = Walk {
        repo,
        index,
        files: Vec::new(),
        deleted: false,
        retyped: false,
    };
    walk.dir(
        &mut Vec::new(),
        head.map(Tree::id),
        index.state.tree(),
        0..index.state.entries().len(),
    )?;
    let added = walk.files.iter().any(|file| file.old.is_none());
    if walk.retyped || (walk.deleted && added) {
        return Ok(None);
    }
    Ok(Some(walk.files))
}

struct Walk<'a> {
    repo: &'a Repository,
    index: &'a Index,
    files: Vec<StagedFile>,
    /// HEAD holds a path the index does not.
    deleted: bool,
    /// One path changed between a file, a link and a submodule.
    retyped: bool,
}

/// One entry of a HEAD tree.
struct HeadItem {
    name: Vec<u8>,
    id: Oid,
    mode: u32,
}

/// Git's order of names in a directory: a directory sorts as if its name ended in `/`.
fn cmp_names(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let a = a.iter().chain(a_dir.then_some(&b'/'));
    let b = b.iter().chain(b_dir.then_some(&b'/'));
    a.cmp(b)
}

/// The kind an entry's mode names: file (either permission), link, submodule, tree.
fn kind(mode: u32) -> u32 {
    mode & KIND_MASK
}

impl Walk<'_> {
    /// Compares the directory at `prefix` (empty or ending in `/`) in HEAD (`head`,
    /// its tree id when HEAD has a tree there) with the index entries `range` below
    /// it, skipping it whole when its cache-tree node says it is HEAD's tree.
    fn dir(
        &mut self,
        prefix: &mut Vec<u8>,
        head: Option<Oid>,
        cache: Option<&CacheNode>,
        range: Range<usize>,
    ) -> anyhow::Result<()> {
        if let (Some(head), Some(node)) = (head, cache) {
            let count = node.num_entries.map(|count| count as usize);
            if head.as_bytes() == node.id.as_bytes() && count == Some(range.len()) {
                return Ok(());
            }
        }
        let head_items: Vec<HeadItem> = match head {
            Some(id) => {
                let tree = self.repo.find_tree(id).with_context(|| {
                    format!(
                        "cannot read HEAD's tree {id} at `{}`",
                        String::from_utf8_lossy(prefix)
                    )
                })?;
                tree.iter()
                    .map(|entry| HeadItem {
                        name: entry.name_bytes().to_vec(),
                        id: entry.id(),
                        mode: entry.filemode() as u32,
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let index = self.index;
        let mut head_items = head_items.into_iter().peekable();
        let mut i = range.start;
        loop {
            // The index's next name here: a file entry, or a directory and its entries.
            let next = (i < range.end).then(|| {
                let rest = &index.path(i)[prefix.len()..];
                match memchr::memchr(b'/', rest) {
                    Some(slash) => {
                        let name = &rest[..slash];
                        let state = &index.state;
                        let below = state.entries()[i..range.end].partition_point(|entry| {
                            let path = &entry.path(state)[prefix.len()..];
                            path.len() > slash && path.starts_with(name) && path[slash] == b'/'
                        });
                        (name, true, i..i + below)
                    }
                    None => (rest, false, i..i + 1),
                }
            });
            let order = match (head_items.peek(), &next) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(item), Some((name, is_dir, _))) => {
                    cmp_names(&item.name, kind(item.mode) == TREE_KIND, name, *is_dir)
                }
            };
            match order {
                Ordering::Less => {
                    self.deleted = true;
                    head_items.next();
                }
                Ordering::Greater => {
                    let (_, _, entries) = next.expect("the index has a next name");
                    for k in entries.clone() {
                        self.files.push(index.file(k, None));
                    }
                    i = entries.end;
                }
                Ordering::Equal => {
                    let item = head_items.next().expect("HEAD has a next name");
                    let (name, is_dir, entries) = next.expect("the index has a next name");
                    i = entries.end;
                    if is_dir {
                        let child = cache.and_then(|node| {
                            let found = node
                                .children
                                .binary_search_by(|c| c.name.as_slice().cmp(name));
                            found.ok().map(|k| &node.children[k])
                        });
                        let len = prefix.len();
                        prefix.extend_from_slice(name);
                        prefix.push(b'/');
                        let result = self.dir(prefix, Some(item.id), child, entries);
                        prefix.truncate(len);
                        result?;
                    } else {
                        let k = entries.start;
                        let (id, mode) = (index.id(k), index.mode(k));
                        if id == item.id && mode == item.mode {
                            continue;
                        }
                        if kind(mode) == kind(item.mode) {
                            self.files.push(index.file(k, Some((item.id, item.mode))));
                        } else {
                            self.retyped = true;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(["-c", "commit.gpgsign=false", "-c", "core.ignorecase=false"])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?} failed");
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A repository of nested folders, committed, so that its index has a cache-tree.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        for path in [
            "top.txt",
            "a/one.txt",
            "a/b/two.txt",
            "a/b/c/three.txt",
            "a.b",
            "a0/x.txt",
            "d/e/f.txt",
        ] {
            write(dir.path(), path, &format!("{path}\nsecond line\n"));
        }
        git(dir.path(), &["add", "."]);
        git(dir.path(), &["commit", "-q", "-m", "start"]);
        dir
    }

    /// The fast path's answer, or `None` where it hands over to `git2`.
    fn fast(dir: &Path) -> Option<Vec<StagedFile>> {
        let repo = Repository::open(dir).unwrap();
        let head = repo.head().ok().map(|head| head.peel_to_tree().unwrap());
        let index = open(&dir.join(".git/index")).ok()??;
        diff(&repo, head.as_ref(), &index).unwrap()
    }

    /// What `git2`'s tree-to-index diff adds or modifies, in the same terms.
    fn git2_files(dir: &Path) -> Vec<StagedFile> {
        let repo = Repository::open(dir).unwrap();
        let head = repo.head().ok().map(|head| head.peel_to_tree().unwrap());
        let index = repo.index().unwrap();
        let diff = repo
            .diff_tree_to_index(head.as_ref(), Some(&index), None)
            .unwrap();
        diff.deltas()
            .filter(|d| matches!(d.status(), git2::Delta::Added | git2::Delta::Modified))
            .map(|d| StagedFile {
                path: d.new_file().path().unwrap().to_string_lossy().into_owned(),
                new_id: d.new_file().id(),
                new_mode: u32::from(d.new_file().mode()),
                old: (d.status() == git2::Delta::Modified)
                    .then(|| (d.old_file().id(), u32::from(d.old_file().mode()))),
            })
            .collect()
    }

    /// Asserts that the fast path answers, and answers what `git2` does.
    fn assert_same(dir: &Path) -> Vec<StagedFile> {
        let fast = fast(dir).expect("the fast path answers");
        assert_eq!(fast, git2_files(dir));
        fast
    }

    fn paths(files: &[StagedFile]) -> Vec<&str> {
        files.iter().map(|f| f.path.as_str()).collect()
    }

    /// Nothing staged: the root's cache-tree node equals HEAD's tree.
    #[test]
    fn a_clean_index_lists_nothing() {
        let dir = repo();
        assert!(assert_same(dir.path()).is_empty());
    }

    /// `git add` invalidates the cache-tree along the changed paths only: edits deep
    /// and shallow, a new file in a known folder and a new folder are all found,
    /// with HEAD's version for the edits, exactly as `git2` lists them.
    #[test]
    fn changes_under_an_invalidated_cache_tree() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/c/three.txt", "changed\n");
        write(d, "top.txt", "changed\n");
        write(d, "a/b/new.txt", "new\n");
        write(d, "n/m/new.txt", "new\n");
        write(d, "a.a", "new\n");
        git(d, &["add", "."]);
        let files = assert_same(d);
        assert_eq!(
            paths(&files),
            [
                "a.a",
                "a/b/c/three.txt",
                "a/b/new.txt",
                "n/m/new.txt",
                "top.txt"
            ]
        );
        assert!(files[1].old.is_some() && files[2].old.is_none());
    }

    /// After `git reset --soft`, every cache-tree node is valid but some differ from
    /// HEAD: the walk enters those, and only those.
    #[test]
    fn a_valid_cache_tree_that_differs_from_head() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/two.txt", "changed\n");
        write(d, "d/e/g.txt", "new\n");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "second"]);
        git(d, &["reset", "-q", "--soft", "HEAD~1"]);
        assert_eq!(paths(&assert_same(d)), ["a/b/two.txt", "d/e/g.txt"]);
    }

    /// Version 4 indexes store each path as a suffix of the one before; the answer
    /// is the same as from version 2.
    #[test]
    fn index_version_4() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/c/three.txt", "changed\n");
        write(d, "a/b/c/four.txt", "new\n");
        git(d, &["add", "."]);
        let v2 = assert_same(d);
        git(d, &["update-index", "--index-version", "4"]);
        let index = std::fs::read(d.join(".git/index")).unwrap();
        assert_eq!(&index[4..8], &[0, 0, 0, 4]);
        assert_eq!(assert_same(d), v2);
    }

    /// Deletions beside edits are answered (nothing to pair them with); beside an
    /// addition, rename detection could pair them, so `git2` must answer.
    #[test]
    fn deletions_hand_over_only_beside_additions() {
        let dir = repo();
        let d = dir.path();
        git(d, &["rm", "-q", "a/b/two.txt", "a0/x.txt"]);
        write(d, "top.txt", "changed\n");
        git(d, &["add", "top.txt"]);
        assert_eq!(paths(&assert_same(d)), ["top.txt"]);
        git(d, &["mv", "a/one.txt", "a/moved.txt"]);
        assert!(fast(d).is_none());
    }

    /// A path that turns from a file into a link is left to `git2`.
    #[cfg(unix)]
    #[test]
    fn a_change_of_kind_hands_over() {
        let dir = repo();
        let d = dir.path();
        std::fs::remove_file(d.join("top.txt")).unwrap();
        std::os::unix::fs::symlink("a/one.txt", d.join("top.txt")).unwrap();
        git(d, &["add", "top.txt"]);
        assert!(fast(d).is_none());
    }

    /// An intent-to-add entry is listed as `git2` lists it (the scan then skips its
    /// empty blob).
    #[test]
    fn intent_to_add_matches_git2() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/later.txt", "not staged\n");
        git(d, &["add", "-N", "a/b/later.txt"]);
        assert_same(d);
    }

    /// An index without a cache-tree (the first `git add` of a new repository), an
    /// unmerged path, and a file that is not an index are all left to `git2`.
    #[test]
    fn what_the_fast_path_does_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        write(d, "a/one.txt", "one\n");
        git(d, &["add", "."]);
        assert!(fast(d).is_none());

        let dir = repo();
        let d = dir.path();
        git(d, &["checkout", "-q", "-b", "side"]);
        write(d, "top.txt", "side\n");
        git(d, &["commit", "-q", "-am", "side"]);
        git(d, &["checkout", "-q", "main"]);
        write(d, "top.txt", "main\n");
        git(d, &["commit", "-q", "-am", "main"]);
        let merge = Command::new("git")
            .current_dir(d)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(["merge", "-q", "side"])
            .output()
            .unwrap();
        assert!(!merge.status.success(), "the merge conflicts");
        assert!(fast(d).is_none());

        assert!(read(b"not an index at all, just some bytes").is_none());
    }

    /// A split index (entries partly in a shared file) and a sparse index (directory
    /// entries in place of files) are left to `git2`, as before their cache-tree is
    /// read.
    #[test]
    fn split_and_sparse_indexes_hand_over() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/c/three.txt", "changed\n");
        git(d, &["add", "."]);
        git(d, &["update-index", "--split-index"]);
        assert!(std::fs::read_dir(d.join(".git")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("sharedindex.")));
        assert!(fast(d).is_none());
        // Unsplit, the index is read again once no shared index lies beside it.
        git(d, &["update-index", "--no-split-index"]);
        assert!(fast(d).is_none(), "a shared index is still beside it");
        for entry in std::fs::read_dir(d.join(".git")).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sharedindex.")
            {
                std::fs::remove_file(path).unwrap();
            }
        }
        assert_same(d);

        git(d, &["commit", "-q", "-m", "more"]);
        git(
            d,
            &["sparse-checkout", "set", "--cone", "--sparse-index", "a"],
        );
        let index = std::fs::read(d.join(".git/index")).unwrap();
        assert!(
            index.windows(4).any(|w| w == b"sdir"),
            "the index is sparse"
        );
        assert!(fast(d).is_none());
    }

    /// A damaged index (cut short anywhere, or with any byte changed) is read and
    /// compared, or refused, or fails with an error, never a panic, in both versions,
    /// from its bytes and from a file; some damage (in the file times) still reads.
    #[test]
    fn damaged_indexes_do_not_panic() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/new.txt", "new\n");
        git(d, &["add", "."]);
        let repo = Repository::open(d).unwrap();
        let head = repo.head().unwrap().peel_to_tree().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("index");
        let mut read_some = 0;
        let mut check = |bytes: Vec<u8>| {
            std::fs::write(&file, &bytes).unwrap();
            for index in [read(&bytes), open(&file).ok().flatten()]
                .into_iter()
                .flatten()
            {
                read_some += 1;
                let _ = diff(&repo, Some(&head), &index);
            }
        };
        for version in ["2", "4"] {
            git(d, &["update-index", "--index-version", version]);
            let index = std::fs::read(d.join(".git/index")).unwrap();
            assert!(read(&index).is_some());
            for len in 0..index.len() {
                check(index[..len].to_vec());
            }
            for at in 0..index.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut damaged = index.clone();
                    damaged[at] ^= flip;
                    check(damaged);
                }
            }
        }
        assert!(read_some > 0, "some damaged indexes are still read");
    }

    /// An index whose cache-tree nests a million levels, which would overflow the
    /// main thread's stack in `gix-index`'s recursive decoder, is decoded on a thread
    /// whose stack holds it, and refused with its depth; git's own indexes (2 to 4)
    /// are read as before.
    #[test]
    fn a_bottomless_cache_tree_is_refused_not_a_crash() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/c/d/deep.txt", "deep\n");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "deep"]);
        for version in ["2", "3", "4"] {
            git(d, &["update-index", "--index-version", version]);
            assert!(
                open(&d.join(".git/index")).is_ok_and(|i| i.is_some()),
                "{version}"
            );
        }
        let deep = |levels: usize| {
            let mut tree = Vec::new();
            for i in 0..levels {
                if i > 0 {
                    tree.push(b'a');
                }
                tree.push(0);
                tree.extend_from_slice(if i + 1 < levels { b"-1 1\n" } else { b"-1 0\n" });
            }
            let mut data = b"DIRC".to_vec();
            data.extend(2u32.to_be_bytes());
            data.extend(0u32.to_be_bytes());
            data.extend(b"TREE");
            data.extend((tree.len() as u32).to_be_bytes());
            data.extend(&tree);
            data.extend([0u8; 20]);
            data
        };
        assert!(read(&deep(MAX_TREE_DEPTH)).is_some());
        assert!(read(&deep(MAX_TREE_DEPTH + 1)).is_none());
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("index");
        std::fs::write(&file, deep(1_000_000)).unwrap();
        assert_eq!(open(&file).err(), Some(1_000_000));
    }

    /// Paths out of git's order would break the directory ranges: such an index is
    /// refused (git refuses it too), while the same bytes in order are read.
    #[test]
    fn unsorted_paths_are_refused() {
        let dir = repo();
        let index = std::fs::read(dir.path().join(".git/index")).unwrap();
        assert!(read(&index).is_some());
        let at = index.windows(4).position(|w| w == b"a.b\0").unwrap();
        let mut unsorted = index.clone();
        unsorted[at..at + 3].copy_from_slice(b"zzz");
        assert!(read(&unsorted).is_none());
    }
}
