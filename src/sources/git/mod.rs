//! Git sources: what `git commit` would add (`--staged`), every blob a history holds
//! (`--history`), and what a range of commits introduces (`--range`).
//!
//! All three read the object database through `git2` and never run `git` nor fetch:
//! in a partial clone or a damaged mirror they read what is local, and name what is
//! missing. This module holds what they share: opening a repository, the commit
//! details a finding carries, and the rule for "added" content ([`scan_change`]):
//! a text change counts its added lines, a binary one the secrets its old version did
//! not hold. Each source then hands blobs to [`crate::sources::scan_bytes`] or, when
//! it learns paths and commits only after the scan, to
//! [`crate::sources::find_in_bytes`]. History and range scans also scan the
//! messages of the commits they walk and of annotated tags ([`tags`]).

pub(crate) mod cache_tree;
pub mod history;
pub mod range;
pub mod staged;
pub mod tags;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use git2::{ErrorCode, Oid, Repository};

use super::{find_in_bytes, BlobMeta, LineSet, ScanContext, Worker};
use crate::finding::CommitInfo;

pub use history::HistorySource;
pub use range::RangeSource;
pub use staged::StagedSource;

/// Opens the repository at or above `path`: a work tree, a subfolder of one, a linked
/// worktree or a bare repository.
pub fn open(path: &Path) -> anyhow::Result<Repository> {
    if !path.exists() {
        anyhow::bail!("`{}` does not exist", path.display());
    }
    Repository::discover(path).map_err(|err| {
        if err.code() == ErrorCode::NotFound {
            anyhow::anyhow!(
                "`{}` is not in a git repository (or any parent folder)",
                path.display()
            )
        } else if err.code() == ErrorCode::Owner {
            // As git itself refuses: a repository someone else owns could run that
            // person's hooks or filters. Say how to trust it, as git does.
            anyhow::anyhow!(
                "cannot open the git repository at `{}`: {}; git refuses a repository \
                 another user owns unless it is marked safe: if you trust it, run `git \
                 config --global --add safe.directory <its path>` (see git's \
                 `safe.directory`)",
                path.display(),
                err.message()
            )
        } else {
            anyhow::anyhow!(
                "cannot open the git repository at `{}`: {}",
                path.display(),
                err.message()
            )
        }
    })
}

/// True when `err` says an object is not in the local object database.
pub fn is_missing(err: &git2::Error) -> bool {
    err.code() == ErrorCode::NotFound
}

/// The details of `commit` that a finding shows.
pub fn commit_info(commit: &git2::Commit) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        id: commit.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(author.when()),
        summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
    }
}

/// A git timestamp in RFC 3339, in the author's own offset (`Z` for UTC).
pub fn rfc3339(time: git2::Time) -> String {
    let offset = i64::from(time.offset_minutes());
    let local = time.seconds() + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = crate::dates::civil_from_days(days);
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60)
    };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{zone}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// True for a change that leaves new content at its path: an added, modified,
/// renamed, copied or retyped file. Deletions and unchanged entries add nothing.
pub fn adds_content(status: git2::Delta) -> bool {
    matches!(
        status,
        git2::Delta::Added
            | git2::Delta::Modified
            | git2::Delta::Renamed
            | git2::Delta::Copied
            | git2::Delta::Typechange
    )
}

/// Regular files hold content worth scanning; links hold a path, gitlinks a commit.
pub fn is_regular(mode: git2::FileMode) -> bool {
    matches!(mode, git2::FileMode::Blob | git2::FileMode::BlobExecutable)
}

/// [`is_regular`] for a raw mode, as an index entry or a tree entry holds it.
pub fn is_regular_mode(mode: u32) -> bool {
    matches!(mode, 0o100_644 | 0o100_755)
}

/// Binary as git judges it; the decoding stage judges content the same way.
pub use crate::decode::is_binary;

/// The 1-based lines of `new` that a line diff from `old` adds.
pub fn added_lines(old: &[u8], new: &[u8]) -> anyhow::Result<LineSet> {
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(0).interhunk_lines(0).force_text(true);
    let patch = git2::Patch::from_buffers(old, None, new, None, Some(&mut opts))
        .context("cannot diff two versions of a file")?;
    let mut lines = LineSet::default();
    // Without context lines, a hunk's new side is exactly the lines it adds.
    for i in 0..patch.num_hunks() {
        let (hunk, _) = patch.hunk(i).context("cannot read a diff hunk")?;
        lines.push(u64::from(hunk.new_start()), u64::from(hunk.new_lines()));
    }
    Ok(lines)
}

/// One changed file: where it is now, its new content, and what it was before.
pub struct Change<'a> {
    pub path: &'a str,
    pub new: &'a [u8],
    /// The versions it is compared with (one a parent; none for a new file). Content
    /// counts as added only when every one of them lacks it, so that a merge reports
    /// what it brings itself, not what one side already had.
    pub old: &'a [&'a [u8]],
    pub commit: Option<&'a Arc<CommitInfo>>,
}

/// Scans the content a change adds and reports it to the collector: for text, the
/// findings on added lines; for binary content, where lines mean nothing, the
/// secrets no old version held.
pub fn scan_change(ctx: &ScanContext, worker: &mut Worker, change: &Change) -> anyhow::Result<()> {
    let meta = BlobMeta {
        path: change.path,
        commit: change.commit,
        added_lines: None,
        member: None,
    };
    if change.old.is_empty() {
        super::scan_bytes(ctx, worker, change.new, meta);
        return Ok(());
    }
    // An archive's members have lines of their own, not the archive's: it is judged
    // as binary content is, by the secrets its old versions did not hold.
    let opened = |bytes: &[u8]| ctx.archives.depth > 0 && crate::unpack::sniff(bytes).is_some();
    let binary = is_binary(change.new)
        || change.old.iter().any(|old| is_binary(old))
        || opened(change.new)
        || change.old.iter().any(|old| opened(old));
    if binary {
        let mut known = HashSet::new();
        for old in change.old {
            find_in_bytes(ctx, worker, old, meta, &mut |found| {
                known.insert(found.fingerprint);
            });
        }
        find_in_bytes(ctx, worker, change.new, meta, &mut |found| {
            if !known.contains(&found.fingerprint) {
                ctx.collector.push(found);
            }
        });
        return Ok(());
    }
    let mut added: Option<LineSet> = None;
    for old in change.old {
        let lines = added_lines(old, change.new).with_context(|| format!("`{}`", change.path))?;
        added = Some(match added {
            None => lines,
            Some(before) => before.intersect(&lines),
        });
    }
    let added = added.unwrap_or_default();
    if added.is_empty() {
        return Ok(());
    }
    super::scan_bytes(
        ctx,
        worker,
        change.new,
        BlobMeta {
            added_lines: Some(&added),
            ..meta
        },
    );
    Ok(())
}

/// A fast, unkeyed hasher for object ids (and keygate's own small integers): SipHash
/// over millions of them is a measurable part of a history scan, and an object id is
/// a SHA-1 already, which a repository cannot choose freely. Never use it for data a
/// repository chooses (paths, names): those take a keyed hasher (`RandomState`).
#[derive(Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // murmur3's finaliser: every input bit reaches the low bits that pick a bucket.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write(&n.to_le_bytes());
    }

    fn write_usize(&mut self, n: usize) {
        self.write(&n.to_le_bytes());
    }
}

/// Hash maps and sets keyed by object ids.
pub type FastBuildHasher = BuildHasherDefault<FastHasher>;
pub type OidMap<V> = std::collections::HashMap<Oid, V, FastBuildHasher>;
pub type OidSet = std::collections::HashSet<Oid, FastBuildHasher>;

/// Checks the loose object file of `oid` in `git_dir`, if there is one, before libgit2
/// reads it: libgit2 1.9 loops forever on a truncated loose object (libgit2 issue
/// #7342, fixed upstream by PR #7346 after the release keygate builds with), and a
/// crash during `git add` or a damaged disk leaves exactly that. Inflates the file
/// to its end without keeping what it inflates; `Err` says what is wrong with it.
/// An object that is only packed, or in an alternate, is left to libgit2.
pub fn check_loose(git_dir: &Path, oid: Oid) -> Result<(), String> {
    use std::io::Read;
    let hex = oid.to_string();
    let path = git_dir.join("objects").join(&hex[..2]).join(&hex[2..]);
    let Ok(file) = std::fs::File::open(&path) else {
        return Ok(());
    };
    let mut inflate = flate2::read::ZlibDecoder::new(std::io::BufReader::new(file));
    let mut buf = [0u8; 16 << 10];
    let mut total: u64 = 0;
    let mut header: Vec<u8> = Vec::new();
    loop {
        match inflate.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if header.len() < 64 && !header.contains(&0) {
                    header.extend_from_slice(&buf[..n.min(64)]);
                }
                total += n as u64;
            }
            Err(err) => return Err(format!("loose object {oid} is damaged: {err}")),
        }
    }
    // `<type> <size>\0`: the size must be what follows the header, or the file was
    // cut short (zlib's own check would catch most cuts, not all).
    let end = header.iter().position(|&b| b == 0);
    let size = end
        .and_then(|end| std::str::from_utf8(&header[..end]).ok())
        .and_then(|text| text.split_once(' '))
        .and_then(|(_, size)| size.parse::<u64>().ok());
    match (end, size) {
        (Some(end), Some(size)) if size + end as u64 + 1 == total => Ok(()),
        _ => Err(format!(
            "loose object {oid} is damaged: truncated or not an object"
        )),
    }
}

/// Refuses a history that holds a damaged loose commit or tag, before libgit2 parses
/// one: a walk (`git2`'s revwalk, a ref peeled to its commit) reads every commit it
/// passes, and libgit2 1.9 loops forever on a truncated loose object (see
/// [`check_loose`]), with no way to step around a commit whose parents it cannot
/// read. So every loose object is looked at first: its header tells a commit or a tag
/// (a few hundred bytes, checked whole) from a blob or a tree (left to the readers'
/// own checks). Only when one is damaged, or its header cannot be read, are the
/// commits walked from every ref and HEAD, by their raw text, never reading that
/// object: reached as a commit or a tag, it is an error that names it; reached by no
/// ref as such, it is a blob or a tree, reported when a reader meets it. A repository
/// without loose objects costs one look at each `objects/` folder.
pub fn guard_loose_commits(repo: &Repository) -> anyhow::Result<()> {
    // A range scan reads its base's config through the repository, then walks it:
    // the loose objects are looked through once a process.
    static CHECKED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let common = repo.commondir().to_path_buf();
    if CHECKED
        .lock()
        .is_ok_and(|checked| checked.contains(&common))
    {
        return Ok(());
    }
    let suspects = damaged_loose_commits(&common);
    if suspects.is_empty() {
        if let Ok(mut checked) = CHECKED.lock() {
            checked.push(common);
        }
        return Ok(());
    }
    let odb = repo.odb().context("cannot open the object database")?;
    let mut stack: Vec<Oid> = Vec::new();
    if let Ok(refs) = repo.references() {
        for reference in refs.flatten() {
            stack.extend(reference.resolve().ok().and_then(|r| r.target()));
        }
    }
    stack.extend(repo.head().ok().and_then(|head| head.target()));
    let mut seen = OidSet::default();
    while let Some(oid) = stack.pop() {
        if !seen.insert(oid) {
            continue;
        }
        if let Some(damage) = suspects.get(&oid) {
            anyhow::bail!(
                "commit {oid} cannot be read: {damage}; the history behind it cannot be \
                 walked (restore the object from a clone, e.g. with `git fetch`)"
            );
        }
        // What is missing or unreadable here is for the walk itself to report; a tag
        // may name a blob, which is not read whole for nothing.
        let links: &[&[u8]] = match odb.read_header(oid).map(|(_, kind)| kind) {
            Ok(git2::ObjectType::Commit) => &[b"parent "],
            Ok(git2::ObjectType::Tag) => &[b"object "],
            _ => continue,
        };
        let Ok(object) = odb.read(oid) else { continue };
        // The header ends at the first blank line; the message may hold anything.
        for line in object.data().split(|&b| b == b'\n') {
            if line.is_empty() {
                break;
            }
            let Some(hex) = links.iter().find_map(|prefix| line.strip_prefix(*prefix)) else {
                continue;
            };
            if let Some(id) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| Oid::from_str(h).ok())
            {
                stack.push(id);
            }
        }
    }
    Ok(())
}

/// The loose objects in `common_dir` that are commits or tags and damaged, or whose
/// header cannot be read, with what is wrong with each.
fn damaged_loose_commits(common_dir: &Path) -> OidMap<String> {
    use std::io::Read;
    let mut damaged = OidMap::default();
    let objects = common_dir.join("objects");
    let Ok(folders) = std::fs::read_dir(&objects) else {
        return damaged;
    };
    for folder in folders.flatten() {
        let name = folder.file_name();
        let Some(prefix) = name.to_str().filter(|n| n.len() == 2) else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for file in files.flatten() {
            let rest = file.file_name();
            let Some(oid) = rest
                .to_str()
                .filter(|r| r.len() == 38)
                .and_then(|r| Oid::from_str(&format!("{prefix}{r}")).ok())
            else {
                continue;
            };
            let Ok(handle) = std::fs::File::open(file.path()) else {
                continue;
            };
            // The type is in the first bytes: `commit 231\0`.
            let mut head = [0u8; 16];
            let mut inflate = flate2::read::ZlibDecoder::new(handle.take(4096));
            let mut got = 0;
            while got < head.len() {
                match inflate.read(&mut head[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            let head = &head[..got];
            if head.starts_with(b"blob ") || head.starts_with(b"tree ") {
                continue;
            }
            if let Err(damage) = check_loose(common_dir, oid) {
                damaged.insert(oid, damage);
            }
        }
    }
    damaged
}

/// True for the id git writes for an all-zero object name (a new or deleted ref).
pub fn is_null_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_in_the_authors_offset() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(git2::Time::new(1_704_164_645, 0)),
            "2024-01-02T03:04:05Z"
        );
        assert_eq!(
            rfc3339(git2::Time::new(1_704_164_645, -330)),
            "2024-01-01T21:34:05-05:30"
        );
        assert_eq!(
            rfc3339(git2::Time::new(951_782_400, 60)),
            "2000-02-29T01:00:00+01:00"
        );
    }

    #[test]
    fn added_lines_are_those_of_the_new_file() {
        let lines = added_lines(b"a\nb\nc\n", b"a\nx\nb\nc\ny\n").unwrap();
        assert!(!lines.contains(1));
        assert!(lines.contains(2));
        assert!(!lines.contains(3) && !lines.contains(4));
        assert!(lines.contains(5));
        assert!(added_lines(b"same\n", b"same\n").unwrap().is_empty());
        let all = added_lines(b"", b"one\ntwo\n").unwrap();
        assert!(all.contains(1) && all.contains(2));
    }

    #[test]
    fn binary_means_a_nul_near_the_start() {
        assert!(is_binary(b"PNG\0\x01"));
        assert!(!is_binary(b"plain text\n"));
    }

    #[test]
    fn null_ids_are_all_zeros() {
        assert!(is_null_id("0000000000000000000000000000000000000000"));
        assert!(!is_null_id("00000000000000000000000000000000000000a0"));
        assert!(!is_null_id(""));
    }
}
