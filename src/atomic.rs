//! Files keygate writes (reports, baselines, hooks) are written whole or not at all.
//!
//! Each is written to a temporary file beside its target (same folder, so the same
//! file system), flushed to disk, then renamed over the target: a crash, a full disk
//! or a refused write midway leaves the old file as it was, and the error says so.
//! Commands call [`write`] for a file they produce in one go, or [`Pending`] for one
//! they stream into while a scan runs (`--format jsonl --output FILE`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

/// Writes `path` whole: `fill` writes the contents into a temporary file beside it,
/// which then replaces `path` with `mode` (Unix permission bits) if given, or else
/// the permissions of the file it replaces (`0o644` for a new one).
pub fn write(
    path: &Path,
    mode: Option<u32>,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let mut pending = Pending::create(path)?;
    let result = {
        let mut out = BufWriter::new(pending.file()?);
        fill(&mut out).and_then(|()| out.flush())
    };
    result.map_err(|err| not_written(path, err))?;
    pending.commit(mode)
}

/// A temporary file beside its target, renamed over it by [`Pending::commit`]; dropped
/// without a commit, it is removed and the target is left alone.
#[derive(Debug)]
pub struct Pending {
    target: PathBuf,
    file: Option<File>,
    temp: TempPath,
}

impl Pending {
    /// Creates the temporary file in the target's folder.
    pub fn create(target: &Path) -> anyhow::Result<Pending> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".keygate-tmp")
            .tempfile_in(dir)
            .map_err(|err| not_written(target, err))?;
        let (file, temp) = temp.into_parts();
        Ok(Pending {
            target: target.to_path_buf(),
            file: Some(file),
            temp,
        })
    }

    /// The open temporary file (a second handle to it, so the caller may move it into
    /// a writer that outlives this borrow).
    pub fn file(&mut self) -> anyhow::Result<File> {
        match &self.file {
            Some(file) => file
                .try_clone()
                .map_err(|err| not_written(&self.target, err)),
            None => Err(not_written(
                &self.target,
                io::Error::other("the temporary file is closed"),
            )),
        }
    }

    /// Syncs the temporary file, sets its permissions and renames it over the target.
    pub fn commit(mut self, mode: Option<u32>) -> anyhow::Result<()> {
        let target = self.target.clone();
        let file = self.file.take();
        let synced = match &file {
            Some(file) => file.sync_all(),
            None => Ok(()),
        };
        synced
            .and_then(|()| set_mode(&self.temp, &target, mode))
            .map_err(|err| not_written(&target, err))?;
        drop(file);
        self.temp
            .persist(&target)
            .map_err(|err| not_written(&target, err.error))?;
        Ok(())
    }
}

/// The error of a write that did not happen: the target is untouched.
fn not_written(path: &Path, err: io::Error) -> anyhow::Error {
    let how = if path.exists() {
        "it was left as it was"
    } else {
        "nothing was written"
    };
    anyhow::Error::new(err).context(format!(
        "cannot write `{}` ({how})",
        crate::quote::path(&path.display().to_string())
    ))
}

/// A temporary file is created `0600`: a replaced file keeps its permissions (a team
/// may have made a baseline group-writable), a new one gets `0644`, a hook `mode`.
#[cfg(unix)]
fn set_mode(temp: &Path, target: &Path, mode: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match mode {
        Some(mode) => mode,
        None => std::fs::metadata(target).map_or(0o644, |m| m.permissions().mode() & 0o7777),
    };
    std::fs::set_permissions(temp, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_temp: &Path, _target: &Path, _mode: Option<u32>) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fill_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let err = write(&path, None, |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("left as it was"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_write_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hook");
        std::fs::write(&path, "old").unwrap();
        write(&path, Some(0o755), |out| out.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }
}
