//! Files and folders: a parallel walk with the `ignore` crate.
//!
//! Hidden files are scanned (`.env` is where keys live); the `.git` folder is not.
//! Inside a git work tree `.gitignore` (and `.git/info/exclude`) are honoured, unless
//! `--no-git`, which scans every file named or found. Symbolic links are not followed
//! unless `--follow` (git stores a link, not its target), and a link not followed is
//! neither read nor reported, as ripgrep does. With `--follow`, a link that loops is a
//! warning (there is nothing behind it to scan); every file that cannot be read is an
//! error, and the walk goes on.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use super::{scan_reader, BlobMeta, ScanContext, Source, Worker};

/// Files and folders named on the command line.
#[derive(Clone, Debug)]
pub struct FsSource {
    pub paths: Vec<PathBuf>,
    /// Print paths without a leading `./` (the user named no path).
    pub strip_dot: bool,
    /// Ignore no `.gitignore` at all.
    pub no_git: bool,
    /// Follow symbolic links.
    pub follow: bool,
}

impl Source for FsSource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        let Some((first, rest)) = self.paths.split_first() else {
            return Ok(());
        };
        let mut builder = WalkBuilder::new(first);
        for path in rest {
            builder.add(path);
        }
        builder
            .hidden(false)
            .ignore(false)
            .parents(!self.no_git)
            .git_ignore(!self.no_git)
            .git_global(!self.no_git)
            .git_exclude(!self.no_git)
            .require_git(true)
            .follow_links(self.follow)
            .threads(ctx.threads)
            .filter_entry(|entry| entry.file_name() != ".git");
        builder.build_parallel().run(|| {
            let mut worker = Worker::default();
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => self.visit(ctx, &mut worker, &entry),
                    Err(err) => report_walk_error(ctx, &err),
                }
                WalkState::Continue
            })
        });
        Ok(())
    }
}

impl FsSource {
    fn visit(&self, ctx: &ScanContext, worker: &mut Worker, entry: &ignore::DirEntry) {
        let Some(file_type) = entry.file_type() else {
            // Standard input named as a path; handled by the stdin source.
            return;
        };
        let path = entry.path();
        if file_type.is_symlink() {
            // Not followed (`--follow` resolves links before we see them): git stores
            // the link, not its target, so there is nothing here to scan or report.
            return;
        }
        if !file_type.is_file() {
            return;
        }
        let shown = self.display(path);
        if ctx.collector.suppressor().path_allowed(&shown) {
            return;
        }
        if let Err(err) = self.scan_file(ctx, worker, path, &shown) {
            ctx.collector.error(&shown, &describe_io(&err));
        }
    }

    fn scan_file(
        &self,
        ctx: &ScanContext,
        worker: &mut Worker,
        path: &Path,
        shown: &str,
    ) -> io::Result<()> {
        let mut file = File::open(path)?;
        if ctx.max_file_size.is_some() && ctx.too_large(shown, file.metadata()?.len()) {
            return Ok(());
        }
        let read = scan_reader(ctx, worker, &mut file, BlobMeta::path(shown))?;
        ctx.collector.add_file(read);
        Ok(())
    }

    /// The path as the user named it; `./` dropped when no path was named.
    fn display(&self, path: &Path) -> String {
        let path = if self.strip_dot {
            path.strip_prefix(".").unwrap_or(path)
        } else {
            path
        };
        path.to_string_lossy().into_owned()
    }
}

fn report_walk_error(ctx: &ScanContext, err: &ignore::Error) {
    let (path, message) = walk_error_parts(err);
    let path = path.unwrap_or_else(|| "walk".into());
    if is_walk_loop(err) {
        // Only `--follow` meets loops: the walk stops there and loses nothing.
        ctx.collector.warn(&format!(
            "`{}`: {message}; not followed",
            crate::quote::path(&path)
        ));
        return;
    }
    ctx.collector.error(&path, &message);
}

/// True for a link that leads back to a folder above it, or to itself.
fn is_walk_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_walk_loop(err),
        ignore::Error::Loop { .. } => true,
        ignore::Error::Io(io) => is_loop(io),
        _ => false,
    }
}

/// Splits a walk error into the path it concerns and a plain message.
fn walk_error_parts(err: &ignore::Error) -> (Option<String>, String) {
    match err {
        ignore::Error::WithPath { path, err } => {
            let (_, message) = walk_error_parts(err);
            (Some(path.display().to_string()), message)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_parts(err)
        }
        ignore::Error::Loop { ancestor, child } => (
            Some(child.display().to_string()),
            format!(
                "symbolic link loop: points back to `{}`",
                ancestor.display()
            ),
        ),
        ignore::Error::Io(io) => (None, describe_io(io)),
        other => (None, other.to_string()),
    }
}

/// An I/O error in words a user can act on.
pub fn describe_io(err: &io::Error) -> String {
    match err.kind() {
        _ if is_loop(err) => "symbolic link loop".into(),
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied (cannot read it)".into(),
        _ => err.to_string(),
    }
}

/// True for `ELOOP`: too many levels of symbolic links.
fn is_loop(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ELOOP)
}
