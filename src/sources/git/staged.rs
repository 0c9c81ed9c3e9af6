//! `--staged`: what `git commit` would add.
//!
//! The index is compared with HEAD's tree (no tree at all on an unborn HEAD, the first
//! commit). Each added, modified, renamed or copied regular file is read from the
//! index's blob and scanned, and only findings on the lines the change adds count,
//! numbered as in the staged file. Deletions, submodules (not entered), symbolic links
//! and intent-to-add entries (which stage no content) are passed over. Inside a git
//! hook, `GIT_DIR` and `GIT_INDEX_FILE` name the repository and the index that
//! `git commit` is about to write (`git commit -a` and `git commit FILE` use a
//! temporary index), so they are honoured.
//!
//! The comparison itself takes the index's cache-tree path ([`super::cache_tree`]),
//! which reads only the directories a commit would change, and falls back to the
//! `git2` diff (the whole index against HEAD's whole tree, then rename detection)
//! whenever that path cannot promise the same answer.

use std::path::{Path, PathBuf};

use anyhow::Context;
use git2::{Delta, DiffFindOptions, DiffOptions, ErrorCode, Index, Oid, Repository, Tree};

use super::cache_tree::{self, StagedFile};
use super::{adds_content, is_missing, is_regular_mode, scan_change, Change};
use crate::sources::{ScanContext, Source, Worker};

/// The id of the empty blob: what an intent-to-add entry records.
const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

/// Staged changes of one repository.
#[derive(Clone, Debug)]
pub struct StagedSource {
    pub repo: PathBuf,
}

impl Source for StagedSource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        // A pre-commit run reads the trees along HEAD's paths: hashing each object
        // again on read is a measurable part of it, and no check the scan needs.
        git2::opts::strict_hash_verification(false);
        let repo = open_for_hook(&self.repo)?;
        if repo.is_bare() {
            anyhow::bail!(
                "`{}` is a bare repository: it has no index, so nothing is staged",
                repo.path().display()
            );
        }
        let head = head_tree(&repo)?;
        let files = match fast_files(&repo, head.as_ref())? {
            Some(files) => files,
            None => git2_files(ctx, &repo, head.as_ref())?,
        };
        let empty = Oid::from_str(EMPTY_BLOB).expect("a valid object id");
        let mut worker = Worker::default();
        for file in &files {
            if !is_regular_mode(file.new_mode) || file.new_id == empty || file.new_id.is_zero() {
                continue;
            }
            let path = file.path.as_str();
            if ctx.collector.suppressor().path_allowed(path) {
                continue;
            }
            // A blob `git add` left half written is loose; libgit2 would hang on it.
            if let Err(damage) = super::check_loose(repo.commondir(), file.new_id) {
                ctx.collector.error(path, &damage);
                continue;
            }
            let blob = match repo.find_blob(file.new_id) {
                Ok(blob) => blob,
                Err(err) => {
                    ctx.collector.error(
                        path,
                        &format!(
                            "cannot read the staged blob {}: {}",
                            file.new_id,
                            err.message()
                        ),
                    );
                    continue;
                }
            };
            if ctx.too_large(path, blob.size() as u64) {
                continue;
            }
            let old_blob = match file.old {
                Some((old_id, old_mode)) if is_regular_mode(old_mode) => {
                    match repo.find_blob(old_id) {
                        Ok(blob) => Some(blob),
                        Err(err) if is_missing(&err) => {
                            ctx.collector.warn(&format!(
                                "`{}`: HEAD's version {old_id} is not in the local object database; the whole staged file is scanned",
                                crate::quote::path(path)
                            ));
                            None
                        }
                        Err(err) => {
                            ctx.collector.error(path, err.message());
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let old: Vec<&[u8]> = old_blob.iter().map(|b| b.content()).collect();
            ctx.collector.add_file(blob.size() as u64);
            let change = Change {
                path,
                new: blob.content(),
                old: &old,
                commit: None,
            };
            if let Err(err) = scan_change(ctx, &mut worker, &change) {
                ctx.collector.error(path, &format!("{err:#}"));
            }
        }
        Ok(())
    }
}

/// The index's changes through its cache-tree ([`cache_tree`]), or `None` when that
/// path cannot answer and the `git2` diff must.
fn fast_files(repo: &Repository, head: Option<&Tree>) -> anyhow::Result<Option<Vec<StagedFile>>> {
    // A case-insensitive index matches paths the way only `git2` knows.
    let ignore_case = repo
        .config()
        .and_then(|config| config.get_bool("core.ignorecase"))
        .unwrap_or(false);
    if ignore_case {
        return Ok(None);
    }
    let path = match std::env::var_os("GIT_INDEX_FILE") {
        Some(file) if !file.is_empty() => PathBuf::from(file),
        _ => repo.path().join("index"),
    };
    // A missing or unreadable index is left to `git2`, which names the problem.
    match cache_tree::open(&path) {
        Ok(Some(index)) => cache_tree::diff(repo, head, &index),
        Ok(None) => Ok(None),
        Err(depth) => anyhow::bail!(
            "the index `{}` is damaged: its cache-tree nests {depth} levels, past the {} a path can have; `git read-tree HEAD` rebuilds it (and unstages everything)",
            crate::quote::path(&path.to_string_lossy()),
            cache_tree::MAX_TREE_DEPTH
        ),
    }
}

/// The index's changes through `git2`: the whole index against HEAD's whole tree,
/// then rename detection.
fn git2_files(
    ctx: &ScanContext,
    repo: &Repository,
    head: Option<&Tree>,
) -> anyhow::Result<Vec<StagedFile>> {
    let index = match std::env::var_os("GIT_INDEX_FILE") {
        Some(file) if !file.is_empty() => Index::open(Path::new(&file))
            .with_context(|| format!("cannot read the index `{}`", file.to_string_lossy()))?,
        _ => repo.index().context("cannot read the index")?,
    };
    let mut opts = DiffOptions::new();
    opts.ignore_submodules(true).skip_binary_check(true);
    let mut diff = repo
        .diff_tree_to_index(head, Some(&index), Some(&mut opts))
        .context("cannot compare the index with HEAD")?;
    // Rename detection reads the blobs of added and deleted files; a missing one
    // (a partial clone) only costs the rename, so the scan goes on.
    let mut find = DiffFindOptions::new();
    find.renames(true).copies(false);
    if let Err(err) = diff.find_similar(Some(&mut find)) {
        ctx.collector.warn(&format!(
            "renames not detected, renamed files are scanned whole: {}",
            err.message()
        ));
    }
    let files = diff
        .deltas()
        .filter(|delta| adds_content(delta.status()))
        .map(|delta| {
            let (new, old) = (delta.new_file(), delta.old_file());
            StagedFile {
                path: new
                    .path()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                new_id: new.id(),
                new_mode: u32::from(new.mode()),
                old: (delta.status() != Delta::Added).then(|| (old.id(), u32::from(old.mode()))),
            }
        })
        .collect();
    Ok(files)
}

/// Inside a git hook `GIT_DIR` names the repository (and may be relative to the
/// folder git runs the hook in); elsewhere the repository is found from `path`.
fn open_for_hook(path: &Path) -> anyhow::Result<Repository> {
    match std::env::var_os("GIT_DIR") {
        Some(dir) if !dir.is_empty() => Repository::open_from_env().with_context(|| {
            format!(
                "cannot open the repository that `GIT_DIR` names: `{}`",
                dir.to_string_lossy()
            )
        }),
        _ => super::open(path),
    }
}

/// HEAD's tree, or none on an unborn branch (before the first commit).
fn head_tree(repo: &Repository) -> anyhow::Result<Option<Tree<'_>>> {
    match repo.head() {
        Ok(head) => {
            // libgit2 would loop forever on a truncated loose HEAD commit.
            if let Some(oid) = head.target() {
                super::check_loose(repo.commondir(), oid)
                    .map_err(anyhow::Error::msg)
                    .context("cannot read HEAD's commit")?;
            }
            Ok(Some(
                head.peel_to_tree().context("cannot read HEAD's tree")?,
            ))
        }
        Err(err) if matches!(err.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(err) => Err(err).context("cannot read HEAD"),
    }
}
