//! The config and baseline of a merge or push check, read from the base of the range.
//!
//! `keygate scan --range A..B` judges the commits in `B` not in `A`. Were its
//! `.keygate.toml` and `--baseline` read from the work tree (the change under review),
//! a change could allow its own leak by adding an allowlist entry or a baseline
//! entry beside it. So both come from commit `A`: files inside the repository are
//! read from `A`'s tree, never from the work tree, and a file missing there means none
//! applies. Only files outside the repository (a CI's own config) are read from disk.
//! `settings` calls this for range targets, and for history scans of a bare
//! repository (whose config can only be `HEAD`'s); everything else reads files as they
//! are.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::baseline::{Baseline, BaselineError};
use crate::config::{Config, CONFIG_FILE};
use crate::suppress::{canonical, normalize};

/// The commit a range is judged against, and how messages name it.
pub struct RangeBase {
    repo: git2::Repository,
    /// `None` when the range excludes nothing (a push that creates a branch): then no
    /// file of the repository is trusted, and no config or baseline from it applies.
    commit: Option<git2::Oid>,
    /// The base as the user wrote it (`origin/main`).
    pub rev: String,
}

impl RangeBase {
    /// Opens the repository around `repo` and finds the base of `range`: the left
    /// side of `A..B`, or the first `^X` of `B ^X` (the forms `RangeSource` takes).
    /// A range that excludes nothing (`..B`, or an all-zero `A`, git's "no commit")
    /// has no base.
    pub fn resolve(repo: &Path, range: &str) -> anyhow::Result<RangeBase> {
        let repository = git2::Repository::discover(repo)
            .with_context(|| format!("`{}` is not in a git repository", repo.display()))?;
        // Before the base commit is read: a damaged loose one would hang libgit2.
        crate::sources::git::guard_loose_commits(&repository)?;
        let Some(rev) = base_rev(range) else {
            eprintln!(
                "keygate: warning: the range `{range}` has no base commit: no config or baseline \
                 from the repository applies (a change is never judged by its own)"
            );
            return Ok(RangeBase {
                repo: repository,
                commit: None,
                rev: String::new(),
            });
        };
        let commit = repository
            .revparse_single(rev)
            .and_then(|object| object.peel_to_commit())
            .with_context(|| {
                format!("cannot resolve `{rev}`, the base of the range `{range}`, to a commit")
            })?
            .id();
        Ok(RangeBase {
            repo: repository,
            commit: Some(commit),
            rev: rev.to_string(),
        })
    }

    /// The commit that `HEAD` names, as the base: for a bare repository's history
    /// scan, whose config can live nowhere else. An unborn `HEAD` has no config.
    pub fn head(repo: &Path) -> anyhow::Result<RangeBase> {
        let repository = git2::Repository::discover(repo)
            .with_context(|| format!("`{}` is not in a git repository", repo.display()))?;
        // Before the base commit is read: a damaged loose one would hang libgit2.
        crate::sources::git::guard_loose_commits(&repository)?;
        let commit = repository
            .head()
            .and_then(|head| head.peel_to_commit())
            .ok()
            .map(|commit| commit.id());
        Ok(RangeBase {
            repo: repository,
            commit,
            rev: "HEAD".into(),
        })
    }

    /// The config: `explicit` (`--config`) or `.keygate.toml`, from the base commit.
    /// Missing there: no config.
    pub fn config(&self, explicit: Option<&Path>) -> anyhow::Result<Config> {
        let relative = match explicit {
            None => PathBuf::from(CONFIG_FILE),
            Some(path) => match self.repo_relative(path) {
                Some(relative) => relative,
                None => return Ok(Config::load(path)?),
            },
        };
        let name = self.name(&relative);
        match self.read(&relative)? {
            Some(text) => {
                self.note_if_changed(&relative, &text);
                Ok(Config::from_text(text, name, None)?)
            }
            None => {
                if explicit.is_some() && self.commit.is_some() {
                    warn_missing(&name, "config");
                }
                Ok(Config::default())
            }
        }
    }

    /// The baseline given by `--baseline`, from the base commit when it lies in the
    /// repository. Missing there: no baseline.
    pub fn baseline(&self, path: &Path) -> anyhow::Result<Option<Baseline>> {
        let Some(relative) = self.repo_relative(path) else {
            return Ok(Some(Baseline::load(path)?));
        };
        let name = self.name(&relative);
        match self.read(&relative)? {
            Some(text) => {
                self.note_if_changed(&relative, &text);
                Ok(Some(Baseline::parse(&text, name)?))
            }
            None => {
                if self.commit.is_some() {
                    warn_missing(&name, "baseline");
                }
                Ok(None)
            }
        }
    }

    /// `REV:path`, as `git show` takes it.
    fn name(&self, relative: &Path) -> String {
        format!("{}:{}", self.rev, slashed(relative))
    }

    /// The file at `relative` in the base commit's tree, if there is one.
    fn read(&self, relative: &Path) -> anyhow::Result<Option<String>> {
        let name = self.name(relative);
        let Some(commit) = self.commit else {
            return Ok(None);
        };
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|commit| commit.tree())
            .with_context(|| format!("cannot read the tree of `{}`", self.rev))?;
        let entry = match tree.get_path(relative) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{name}`")),
        };
        let object = entry
            .to_object(&self.repo)
            .with_context(|| format!("cannot read `{name}`"))?;
        let Some(blob) = object.as_blob() else {
            bail!("`{name}` is not a file");
        };
        let text = String::from_utf8(blob.content().to_vec()).map_err(|_| BaselineError {
            path: name.clone(),
            message: "not UTF-8 text".into(),
        })?;
        Ok(Some(text))
    }

    /// `path` relative to the repository root when it lies inside the repository,
    /// `None` when it lies outside (then it is read from disk). A relative path is
    /// taken from the current folder when that is inside the work tree, else from the
    /// repository root.
    fn repo_relative(&self, path: &Path) -> Option<PathBuf> {
        let Some(workdir) = self.repo.workdir() else {
            // A bare repository has no files of its own on disk to confuse with.
            return path.is_relative().then(|| normalize(path));
        };
        let workdir = canonical(workdir);
        let cwd = std::env::current_dir().map(|d| canonical(&d)).ok();
        let absolute = match (&cwd, path.is_relative()) {
            (Some(cwd), true) if cwd.starts_with(&workdir) => cwd.join(path),
            (_, true) => workdir.join(path),
            (_, false) => path.to_path_buf(),
        };
        let absolute = match absolute.parent().map(canonical) {
            Some(parent) => parent.join(absolute.file_name()?),
            None => absolute,
        };
        let relative = normalize(&absolute)
            .strip_prefix(&workdir)
            .ok()?
            .to_path_buf();
        (!relative.as_os_str().is_empty()).then_some(relative)
    }

    /// Tells the user when the work tree's copy differs from the base's, so that an
    /// allowlist edit in the change is not silently mistaken for one in force.
    fn note_if_changed(&self, relative: &Path, base_text: &str) {
        let Some(workdir) = self.repo.workdir() else {
            return;
        };
        let Ok(current) = std::fs::read_to_string(workdir.join(relative)) else {
            return;
        };
        if current != base_text {
            eprintln!(
                "keygate: note: `{}` differs from `{}`; this check uses the version at the base of \
                 the range, so that a change cannot allow its own findings",
                slashed(relative),
                self.name(relative)
            );
        }
    }
}

/// The base revision of a range, if it has one; see [`RangeBase::resolve`].
fn base_rev(range: &str) -> Option<&str> {
    range.split_whitespace().find_map(|word| {
        let rev = match word.split_once("..") {
            Some((left, _)) => left,
            None => word.strip_prefix('^')?,
        };
        let null = rev.bytes().all(|b| b == b'0');
        (!rev.is_empty() && !null).then_some(rev)
    })
}

fn warn_missing(name: &str, what: &str) {
    eprintln!(
        "keygate: warning: `{name}` does not exist: no {what} applies (a range is checked \
         against the {what} of its base, never the one it adds)"
    );
}

/// A relative path with `/` separators, as git names tree entries.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs git in `dir` with a fixed identity; panics on failure.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A repository whose first commit allows `base/**` and whose second commit (and
    /// work tree) also allow `leak/**` and add a baseline entry.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        std::fs::write(
            root.join(".keygate.toml"),
            "[allow]\npaths = [\"base/**\"]\n",
        )
        .unwrap();
        std::fs::write(
            root.join("b.json"),
            crate::baseline::render_entries(vec![crate::baseline::Entry {
                rule_id: "r".into(),
                fingerprint: "old".into(),
            }]),
        )
        .unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "base"]);
        std::fs::write(
            root.join(".keygate.toml"),
            "[allow]\npaths = [\"base/**\", \"leak/**\"]\n",
        )
        .unwrap();
        std::fs::write(
            root.join("b.json"),
            crate::baseline::render_entries(vec![
                crate::baseline::Entry {
                    rule_id: "r".into(),
                    fingerprint: "old".into(),
                },
                crate::baseline::Entry {
                    rule_id: "r".into(),
                    fingerprint: "new".into(),
                },
            ]),
        )
        .unwrap();
        std::fs::write(root.join("extra.json"), "{\"version\":1,\"entries\":[]}").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "change"]);
        dir
    }

    /// The config and baseline of a range come from its base commit, not from the
    /// change or the work tree.
    #[test]
    fn config_and_baseline_come_from_the_base_commit() {
        let dir = repo();
        let base = RangeBase::resolve(dir.path(), "HEAD~1..HEAD").unwrap();
        let config = base.config(None).unwrap();
        assert_eq!(config.syntax.allow.paths, ["base/**"]);
        assert_eq!(config.name(), Some("HEAD~1:.keygate.toml"));
        assert!(config.source.as_ref().unwrap().dir.is_none());
        let baseline = base.baseline(&dir.path().join("b.json")).unwrap().unwrap();
        assert_eq!(baseline.len(), 1);
        assert!(baseline.check("old") && !baseline.check("new"));
        assert_eq!(baseline.name, "HEAD~1:b.json");
    }

    /// A config or baseline that the base commit lacks does not apply, even when the
    /// change adds it.
    #[test]
    fn files_missing_at_the_base_do_not_apply() {
        let dir = repo();
        let base = RangeBase::resolve(dir.path(), "HEAD~1...HEAD").unwrap();
        assert!(base
            .baseline(&dir.path().join("extra.json"))
            .unwrap()
            .is_none());
        let root = git(dir.path(), &["rev-list", "--max-parents=0", "HEAD"]);
        git(dir.path(), &["checkout", "-q", "--orphan", "empty"]);
        git(dir.path(), &["rm", "-rq", "--cached", "."]);
        git(
            dir.path(),
            &["commit", "-q", "--allow-empty", "-m", "nothing"],
        );
        let empty = RangeBase::resolve(dir.path(), &format!("empty..{}", root.trim())).unwrap();
        assert!(empty.config(None).unwrap().source.is_none());
    }

    /// Files outside the repository are read from disk: a CI may keep its own.
    #[test]
    fn files_outside_the_repository_are_read_from_disk() {
        let dir = repo();
        let outside = tempfile::tempdir().unwrap();
        let file = outside.path().join("ci.toml");
        std::fs::write(&file, "disable = [\"openai.project-key\"]\n").unwrap();
        let base = RangeBase::resolve(dir.path(), "HEAD~1..HEAD").unwrap();
        let config = base.config(Some(&file)).unwrap();
        assert_eq!(config.syntax.disable, ["openai.project-key"]);
    }

    /// A bad config at the base stops the run, named as `REV:path` with its line.
    #[test]
    fn a_bad_config_at_the_base_is_named_with_its_line() {
        let dir = repo();
        std::fs::write(dir.path().join(".keygate.toml"), "[allow]\n\npathz = []\n").unwrap();
        git(dir.path(), &["commit", "-qam", "typo"]);
        let base = RangeBase::resolve(dir.path(), "HEAD..HEAD").unwrap();
        let err = base.config(None).unwrap_err().to_string();
        assert!(
            err.starts_with("config `HEAD:.keygate.toml`, line 3, column 1:"),
            "{err}"
        );
    }

    /// The base is the left side of `A..B` or the first `^X`; a range that excludes
    /// nothing has none, and then nothing from the repository applies.
    #[test]
    fn the_base_of_each_range_form() {
        assert_eq!(base_rev("origin/main..HEAD"), Some("origin/main"));
        assert_eq!(base_rev("a...b"), Some("a"));
        assert_eq!(base_rev("HEAD ^v1 ^v2"), Some("v1"));
        assert_eq!(
            base_rev("0000000000000000000000000000000000000000..b"),
            None
        );
        assert_eq!(base_rev("..b"), None);
        let dir = repo();
        let base = RangeBase::resolve(dir.path(), "0000000..HEAD").unwrap();
        assert!(base.config(None).unwrap().source.is_none());
        assert!(base.baseline(&dir.path().join("b.json")).unwrap().is_none());
    }

    /// A bare clone's history scan takes the config of its `HEAD`.
    #[test]
    fn a_bare_repository_takes_the_config_of_head() {
        let dir = repo();
        let bare = tempfile::tempdir().unwrap();
        git(
            bare.path(),
            &[
                "clone",
                "-q",
                "--bare",
                &dir.path().display().to_string(),
                "b.git",
            ],
        );
        let base = RangeBase::head(&bare.path().join("b.git")).unwrap();
        let config = base.config(None).unwrap();
        assert_eq!(config.syntax.allow.paths, ["base/**", "leak/**"]);
        assert_eq!(config.name(), Some("HEAD:.keygate.toml"));
    }

    /// A left side that does not resolve is an error naming it.
    #[test]
    fn an_unknown_base_is_an_error() {
        let dir = repo();
        let err = RangeBase::resolve(dir.path(), "nope..HEAD").err().unwrap();
        assert!(err.to_string().contains("`nope`"), "{err}");
    }
}
