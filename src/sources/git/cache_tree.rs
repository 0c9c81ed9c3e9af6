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
//! entries nor HEAD's trees below it need reading. [`read`] parses the index (versions
//! 2 to 4) without copying what it does not need, and [`diff`] walks HEAD's trees
//! (through `git2`) only along the directories that may differ.
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

/// The length of a SHA-1 object id, the only object format `git2` reads.
const ID_LEN: usize = 20;
/// An index entry's fixed fields before its path: times, device, inode, mode, ids,
/// size, object id and flags.
const FIXED_LEN: usize = 62;
/// Offsets of the fields an entry needs, from its start.
const MODE_AT: usize = 24;
const ID_AT: usize = 40;
const FLAGS_AT: usize = 60;
/// `flags`: the entry carries a second flags word (index version 3 and later).
const EXTENDED: u16 = 0x4000;
/// `flags`: the merge stage, non-zero for an unmerged path.
const STAGE_MASK: u16 = 0x3000;
/// `flags`: the path length, or this value when the path is longer.
const NAME_MASK: u16 = 0x0fff;
/// A directory deeper than this in the cache-tree is taken for a damaged index.
const MAX_DEPTH: usize = 4096;
/// Mode bits of an index or tree entry: the object type.
const KIND_MASK: u32 = 0o170_000;
const TREE_KIND: u32 = 0o040_000;

/// One entry of the index, pointing into [`Index`]'s buffers.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Where the entry's fixed fields start in the file.
    at: u32,
    /// Where its path is: in the file (versions 2, 3) or in `paths` (version 4).
    path: (u32, u32),
}

/// One directory of the cache-tree extension.
#[derive(Debug)]
struct CacheNode {
    name: Vec<u8>,
    /// The tree the index would write here and how many entries it covers, or `None`
    /// when an entry below changed since it was written.
    valid: Option<(Oid, usize)>,
    /// Sorted by name, so that a directory's node is found by binary search.
    children: Vec<CacheNode>,
}

/// The parts of an index file that the comparison with HEAD needs.
#[derive(Debug)]
pub struct Index<D> {
    /// The file's bytes: mapped, or read whole where mapping is not available.
    data: D,
    version4: bool,
    /// The paths of a version 4 index, which stores each as a suffix of the last.
    paths: Vec<u8>,
    entries: Vec<Entry>,
    tree: CacheNode,
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

/// An index file's bytes, mapped read-only where the platform allows: copying an
/// index of a hundred thousand entries into memory costs more time in the kernel
/// than the whole comparison.
pub enum FileBytes {
    #[cfg(unix)]
    Mapped {
        ptr: *mut libc::c_void,
        len: usize,
    },
    Read(Vec<u8>),
}

impl FileBytes {
    /// Maps or reads the file at `path`.
    pub fn load(path: &Path) -> std::io::Result<FileBytes> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let file = std::fs::File::open(path)?;
            let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
            if len > 0 {
                // SAFETY: a private read-only mapping of a file we opened, released
                // in `drop`. git never rewrites an index in place (it renames a new
                // file over it), so the mapped bytes do not change while we read;
                // a foreign tool truncating it would be a fault that git itself,
                // which maps the index too, is exposed to as well.
                let ptr = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE,
                        file.as_raw_fd(),
                        0,
                    )
                };
                if ptr != libc::MAP_FAILED {
                    return Ok(FileBytes::Mapped { ptr, len });
                }
            }
        }
        std::fs::read(path).map(FileBytes::Read)
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            #[cfg(unix)]
            // SAFETY: `ptr` maps `len` readable bytes until `drop`.
            FileBytes::Mapped { ptr, len } => unsafe {
                std::slice::from_raw_parts(ptr.cast::<u8>(), *len)
            },
            FileBytes::Read(bytes) => bytes,
        }
    }
}

impl Drop for FileBytes {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let FileBytes::Mapped { ptr, len } = *self {
            // SAFETY: the mapping made in `load`, unmapped once; no slice of it
            // outlives `self`.
            unsafe {
                libc::munmap(ptr, len);
            }
        }
    }
}

/// Parses an index file, or answers `None` when it holds something the fast path
/// does not handle (see the module documentation). The trailing checksum is not
/// verified: `git` does not verify it on read either, only `git fsck` does.
pub fn read<D: AsRef<[u8]>>(file: D) -> Option<Index<D>> {
    let data = file.as_ref();
    if data.len() < 12 + ID_LEN || &data[..4] != b"DIRC" {
        return None;
    }
    let version = be32(data, 4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    // Offsets are kept in 32 bits: an index of 4 GiB is left to `git2`.
    if u32::try_from(data.len()).is_err() {
        return None;
    }
    let count = be32(data, 8)? as usize;
    let end = data.len() - ID_LEN;
    let mut entries = Vec::with_capacity(count.min(end / FIXED_LEN));
    let mut paths = Vec::new();
    let mut last: Range<usize> = 0..0;
    let mut at = 12;
    for _ in 0..count {
        if at + FIXED_LEN > end {
            return None;
        }
        let flags = u16::from_be_bytes([data[at + FLAGS_AT], data[at + FLAGS_AT + 1]]);
        let mode = be32(data, at + MODE_AT)?;
        if flags & STAGE_MASK != 0 || mode & KIND_MASK == TREE_KIND {
            // An unmerged path, or a sparse index's directory entry.
            return None;
        }
        let name_at = at + FIXED_LEN + if flags & EXTENDED != 0 { 2 } else { 0 };
        let entry_at = at as u32;
        // Paths must come in git's order (sorted, each once) for the directory
        // ranges of the walk to be contiguous; git checks the same on read.
        let path = if version == 4 {
            let (strip, used) = varint(data.get(name_at..end)?)?;
            let suffix_at = name_at + used;
            let nul = memchr::memchr(0, data.get(suffix_at..end)?)?;
            let suffix = &data[suffix_at..suffix_at + nul];
            let keep = last.len().checked_sub(strip)?;
            // Both paths share `keep` bytes: the rest orders them.
            if !entries.is_empty() && suffix <= &paths[last.start + keep..last.end] {
                return None;
            }
            let start = paths.len();
            paths.extend_from_within(last.start..last.start + keep);
            paths.extend_from_slice(suffix);
            if u32::try_from(paths.len()).is_err() {
                return None;
            }
            at = suffix_at + nul + 1;
            start..paths.len()
        } else {
            let len = match flags & NAME_MASK {
                NAME_MASK => memchr::memchr(0, data.get(name_at..end)?)?,
                len => usize::from(len),
            };
            if name_at + len >= end {
                return None;
            }
            if !entries.is_empty() && data[name_at..name_at + len] <= data[last.clone()] {
                return None;
            }
            // Versions 2 and 3 pad each entry with 1 to 8 NULs to a multiple of 8.
            at += (name_at - at + len + 8) & !7;
            name_at..name_at + len
        };
        entries.push(Entry {
            at: entry_at,
            path: (path.start as u32, path.len() as u32),
        });
        last = path;
    }
    let mut tree = None;
    while at + 8 <= end {
        let signature = &data[at..at + 4];
        let size = be32(data, at + 4)? as usize;
        let body = data.get(at + 8..(at + 8).checked_add(size)?)?;
        match signature {
            b"TREE" => tree = Some(parse_tree(&mut &body[..], 0)?),
            // Optional extensions start with an upper-case letter; any other one
            // (a split index's `link`, a sparse index's `sdir`) changes what the
            // entries mean.
            [first, ..] if first.is_ascii_uppercase() => {}
            _ => return None,
        }
        at += 8 + size;
    }
    Some(Index {
        data: file,
        version4: version == 4,
        paths,
        entries,
        tree: tree?,
    })
}

impl<D: AsRef<[u8]>> Index<D> {
    fn path_of(&self, entry: &Entry) -> &[u8] {
        let (start, len) = (entry.path.0 as usize, entry.path.1 as usize);
        let source = if self.version4 {
            &self.paths
        } else {
            self.data.as_ref()
        };
        &source[start..start + len]
    }

    fn path(&self, i: usize) -> &[u8] {
        self.path_of(&self.entries[i])
    }

    fn mode(&self, i: usize) -> u32 {
        be32(self.data.as_ref(), self.entries[i].at as usize + MODE_AT)
            .expect("checked while parsing")
    }

    fn id(&self, i: usize) -> Oid {
        let at = self.entries[i].at as usize + ID_AT;
        Oid::from_bytes(&self.data.as_ref()[at..at + ID_LEN])
            .expect("twenty bytes are an object id")
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

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// The variable-length integer of a version 4 path (git's `decode_varint`) and the
/// number of bytes it takes.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value: usize = 0;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        if i > 0 {
            value = value.checked_add(1)?.checked_mul(128)?;
        }
        value |= usize::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// One node of the `TREE` extension and, depth first, its children.
fn parse_tree(body: &mut &[u8], depth: usize) -> Option<CacheNode> {
    if depth > MAX_DEPTH {
        return None;
    }
    let nul = memchr::memchr(0, body)?;
    let name = body[..nul].to_vec();
    let rest = &body[nul + 1..];
    let newline = memchr::memchr(b'\n', rest)?;
    let (entries, subtrees) = std::str::from_utf8(&rest[..newline])
        .ok()?
        .split_once(' ')?;
    let entries: i64 = entries.parse().ok()?;
    let subtrees: usize = subtrees.parse().ok()?;
    let mut rest = &rest[newline + 1..];
    let valid = if entries >= 0 {
        let id = Oid::from_bytes(rest.get(..ID_LEN)?).ok()?;
        rest = &rest[ID_LEN..];
        Some((id, usize::try_from(entries).ok()?))
    } else {
        None
    };
    let mut children = Vec::with_capacity(subtrees.min(rest.len()));
    for _ in 0..subtrees {
        children.push(parse_tree(&mut rest, depth + 1)?);
    }
    children.sort_by(|a, b| a.name.cmp(&b.name));
    *body = rest;
    Some(CacheNode {
        name,
        valid,
        children,
    })
}

/// Compares the index with HEAD's tree (`None` on an unborn branch) and lists the
/// files it adds or modifies, sorted by path; `None` when only the `git2` diff can
/// give the answer (a change of kind, or additions beside deletions).
pub fn diff<D: AsRef<[u8]>>(
    repo: &Repository,
    head: Option<&Tree>,
    index: &Index<D>,
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
        Some(&index.tree),
        0..index.entries.len(),
    )?;
    let added = walk.files.iter().any(|file| file.old.is_none());
    if walk.retyped || (walk.deleted && added) {
        return Ok(None);
    }
    Ok(Some(walk.files))
}

struct Walk<'a, D> {
    repo: &'a Repository,
    index: &'a Index<D>,
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

impl<D: AsRef<[u8]>> Walk<'_, D> {
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
        if let (Some(head), Some((id, count))) = (head, cache.and_then(|node| node.valid)) {
            if head == id && count == range.len() {
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
                        let below = index.entries[i..range.end].partition_point(|entry| {
                            let path = &index.path_of(entry)[prefix.len()..];
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
        let index = read(FileBytes::load(&dir.join(".git/index")).unwrap())?;
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

        assert!(read(b"not an index at all, just some bytes".to_vec()).is_none());
    }

    /// A damaged index (cut short anywhere, or with any byte changed) is read and
    /// compared, or refused, or fails with an error, never a panic, in both versions.
    #[test]
    fn damaged_indexes_do_not_panic() {
        let dir = repo();
        let d = dir.path();
        write(d, "a/b/new.txt", "new\n");
        git(d, &["add", "."]);
        let repo = Repository::open(d).unwrap();
        let head = repo.head().unwrap().peel_to_tree().unwrap();
        let check = |bytes: Vec<u8>| {
            if let Some(index) = read(bytes) {
                let _ = diff(&repo, Some(&head), &index);
            }
        };
        for version in ["2", "4"] {
            git(d, &["update-index", "--index-version", version]);
            let index = std::fs::read(d.join(".git/index")).unwrap();
            assert!(read(index.clone()).is_some());
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
    }

    /// Paths out of git's order would break the directory ranges: such an index is
    /// refused (git refuses it too), while the same bytes in order are read.
    #[test]
    fn unsorted_paths_are_refused() {
        let dir = repo();
        let index = std::fs::read(dir.path().join(".git/index")).unwrap();
        assert!(read(index.clone()).is_some());
        let at = index.windows(4).position(|w| w == b"a.b\0").unwrap();
        let mut unsorted = index.clone();
        unsorted[at..at + 3].copy_from_slice(b"zzz");
        assert!(read(unsorted).is_none());
    }

    #[test]
    fn varints_are_gits_offset_encoding() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x80, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0x81, 0x7f]), Some((383, 2)));
        assert_eq!(varint(&[0x80]), None);
    }
}
