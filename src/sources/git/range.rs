//! `--range A..B`: what the commits in `B` but not in `A` introduce.
//!
//! Each such commit is compared with its parents and only the lines it adds count,
//! each finding carrying that commit. Its message is new with it and scanned whole,
//! as are the messages of annotated tags that name a commit of the range or that the
//! range names itself (a pushed tag). A merge adds what is new against every parent
//! (its own conflict resolutions and edits), not what one side already brought: that
//! side's commits are in the range themselves, or already in `A`. The result is a
//! function of the repository and the range alone; the configuration and baseline a
//! range scan runs with (those of `A`) are chosen above this module.
//!
//! Besides `A..B`, the range takes the forms a pre-push hook needs, in the notation of
//! gitrevisions(7): several words, where `^X` excludes what `X` reaches and `A..B`
//! is `B ^A`; an all-zero `A` (git's name for "no commit", as in a push that creates
//! a branch) excludes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository, Sort};

use super::{
    adds_content, commit_info, is_missing, is_null_id, is_regular, scan_change, Change, OidSet,
};
use crate::finding::MessageOf;
use crate::sources::message::scan_message;
use crate::sources::{ScanContext, Source, Worker};

/// The commits of a range, as revisions to walk from and to stop at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSpec {
    pub include: Vec<Oid>,
    pub exclude: Vec<Oid>,
    /// Annotated tags named as tips (the pre-push hook names a pushed tag so): their
    /// messages are scanned whatever commit they tag, as the push publishes them.
    pub tags: Vec<Oid>,
}

impl RangeSpec {
    /// Parses `A..B`, `B ^X ^Y` or a mix of both; see the module documentation.
    pub fn parse(repo: &Repository, range: &str) -> anyhow::Result<RangeSpec> {
        let mut spec = RangeSpec::default();
        for word in range.split_whitespace() {
            if word.contains("...") {
                anyhow::bail!("`{word}`: symmetric ranges (`A...B`) are not supported; use `A..B`");
            }
            if let Some((from, to)) = word.split_once("..") {
                if !from.is_empty() && !is_null_id(from) {
                    spec.exclude.push(resolve(repo, from)?);
                }
                let to = if to.is_empty() { "HEAD" } else { to };
                spec.include.push(resolve(repo, to)?);
                spec.tags.extend(named_tag(repo, to));
            } else if let Some(hidden) = word.strip_prefix('^') {
                spec.exclude.push(resolve(repo, hidden)?);
            } else {
                spec.include.push(resolve(repo, word)?);
                spec.tags.extend(named_tag(repo, word));
            }
        }
        if spec.include.is_empty() {
            anyhow::bail!("`{range}` names no commit to scan");
        }
        Ok(spec)
    }

    /// The commits in the range, parents before children.
    pub fn commits(&self, repo: &Repository) -> anyhow::Result<Vec<Oid>> {
        let mut walk = repo.revwalk().context("cannot walk the history")?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
        for &oid in &self.include {
            walk.push(oid)?;
        }
        for &oid in &self.exclude {
            walk.hide(oid)?;
        }
        walk.collect::<Result<Vec<_>, _>>()
            .context("cannot walk the commits of the range")
    }
}

/// The annotated tag object `rev` names, if it names one.
fn named_tag(repo: &Repository, rev: &str) -> Option<Oid> {
    let object = repo.revparse_single(rev).ok()?;
    (object.kind() == Some(git2::ObjectType::Tag)).then(|| object.id())
}

/// A revision, peeled to the commit it names.
fn resolve(repo: &Repository, rev: &str) -> anyhow::Result<Oid> {
    let object = repo
        .revparse_single(rev)
        .with_context(|| format!("unknown revision `{rev}`"))?;
    let commit = object
        .peel_to_commit()
        .with_context(|| format!("`{rev}` does not name a commit"))?;
    Ok(commit.id())
}

/// The commits of a range in one repository.
#[derive(Clone, Debug)]
pub struct RangeSource {
    pub repo: PathBuf,
    pub range: String,
}

impl Source for RangeSource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        let repo = super::open(&self.repo)?;
        super::guard_loose_commits(&repo)?;
        let spec = RangeSpec::parse(&repo, &self.range)
            .with_context(|| format!("--range `{}`", self.range))?;
        let mut worker = Worker::default();
        let commits = spec.commits(&repo)?;
        for &oid in &commits {
            if let Err(err) = scan_commit(ctx, &mut worker, &repo, oid) {
                ctx.collector
                    .error(&format!("commit {oid}"), &format!("{err:#}"));
            }
        }
        // The tags the range names, then those on its commits: a release pushed
        // with its tag.
        let mut seen = OidSet::default();
        super::tags::scan_tags(ctx, &repo, &spec.tags, &mut seen, &|_| true);
        let in_range: OidSet = commits.iter().copied().collect();
        super::tags::scan_tags(
            ctx,
            &repo,
            &super::tags::ref_targets(&repo),
            &mut seen,
            &|commit| commit.is_some_and(|c| in_range.contains(&c)),
        );
        Ok(())
    }
}

/// Scans what one commit adds against its parents.
pub fn scan_commit(
    ctx: &ScanContext,
    worker: &mut Worker,
    repo: &Repository,
    oid: Oid,
) -> anyhow::Result<()> {
    let commit = repo.find_commit(oid)?;
    let info = Arc::new(commit_info(&commit));
    // The message is all new with its commit: no added-lines filter.
    scan_message(
        ctx,
        worker,
        commit.message_bytes(),
        &MessageOf::Commit,
        || Some(Arc::clone(&info)),
    );
    let tree = commit.tree()?;
    let parents = commit
        .parents()
        .map(|p| p.tree())
        .collect::<Result<Vec<_>, _>>()
        .context("cannot read a parent's tree")?;
    let mut opts = DiffOptions::new();
    opts.ignore_submodules(true).skip_binary_check(true);
    let mut diff = repo.diff_tree_to_tree(parents.first(), Some(&tree), Some(&mut opts))?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    if let Err(err) = diff.find_similar(Some(&mut find)) {
        ctx.collector.warn(&format!(
            "commit {oid}: renames not detected, renamed files are scanned whole: {}",
            err.message()
        ));
    }
    for delta in diff.deltas() {
        if !adds_content(delta.status()) {
            continue;
        }
        let new = delta.new_file();
        if !is_regular(new.mode()) {
            continue;
        }
        let Some(path) = new.path() else { continue };
        let shown = path.to_string_lossy().into_owned();
        if ctx.collector.suppressor().path_allowed(&shown) {
            continue;
        }
        // A merge that keeps another parent's version of the file adds nothing here.
        let mut old_ids = Vec::new();
        if delta.status() != Delta::Added && is_regular(delta.old_file().mode()) {
            old_ids.push(delta.old_file().id());
        }
        let mut taken = false;
        for other in parents.iter().skip(1) {
            if let Ok(entry) = other.get_path(path) {
                if entry.id() == new.id() {
                    taken = true;
                } else if entry.kind() == Some(git2::ObjectType::Blob) {
                    old_ids.push(entry.id());
                }
            }
        }
        if taken {
            continue;
        }
        // libgit2 would hang on a truncated loose blob (see `check_loose`).
        if let Err(damage) = super::check_loose(repo.commondir(), new.id()) {
            ctx.collector.error(&shown, &damage);
            continue;
        }
        let blob = match repo.find_blob(new.id()) {
            Ok(blob) => blob,
            Err(err) if is_missing(&err) => {
                ctx.collector.warn(&format!(
                    "`{}` in commit {oid}: blob {} is missing, skipped",
                    crate::quote::path(&shown),
                    new.id()
                ));
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        if ctx.too_large(&shown, blob.size() as u64) {
            continue;
        }
        let mut olds = Vec::new();
        for id in old_ids {
            match repo.find_blob(id) {
                Ok(old) => olds.push(old),
                Err(err) if is_missing(&err) => ctx.collector.warn(&format!(
                    "`{}` in commit {oid}: the parent's blob {id} is missing; compared without it",
                    crate::quote::path(&shown)
                )),
                Err(err) => return Err(err.into()),
            }
        }
        let old: Vec<&[u8]> = olds.iter().map(|b| b.content()).collect();
        ctx.collector.add_blob(blob.size() as u64);
        scan_change(
            ctx,
            worker,
            &Change {
                path: &shown,
                new: blob.content(),
                old: &old,
                commit: Some(&info),
            },
        )?;
    }
    Ok(())
}
