//! `keygate install`: git hooks that run keygate before each commit, on its message,
//! and (with `--pre-push`) before each push.
//!
//! Hooks go where git looks for them: `core.hooksPath` when set (relative to the work
//! tree, as git reads it), else the `hooks` folder of the common git directory, which
//! linked worktrees share. A hook keygate wrote carries a marker line and is simply
//! rewritten; any other hook is left alone unless `--force`, and then it is kept
//! beside ours (`NAME.pre-keygate`) and still run first, so installing keygate never
//! silently drops a check a team relies on.
//!
//! The pre-commit hook runs `keygate scan --staged`; the commit-msg hook runs
//! `keygate scan --commit-msg` on the message git hands it, and blocks the commit
//! with the same words. The pre-push hook reads git's
//! lines (`<local ref> <local sha> <remote ref> <remote sha>`) and scans exactly the
//! pushed commits with `keygate scan --range`: `remote..local` for an update, and for
//! a new branch the local commits that no ref of that remote already holds; a
//! deletion pushes nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::atomic;
use crate::cli::InstallArgs;
use crate::sources::git;
use crate::Outcome;

/// The line that marks a hook as keygate's own.
const MARKER: &str = "# keygate-hook: written by `keygate install`";
/// Suffix of a foreign hook kept by `--force`.
const KEPT: &str = "pre-keygate";

pub fn run(args: &InstallArgs) -> anyhow::Result<Outcome> {
    let start = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = git::open(&start)?;
    let dir = hooks_dir(&repo)?;
    fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let program = program_path();
    let mut hooks = vec![
        ("pre-commit", pre_commit_script(&program)),
        ("commit-msg", commit_msg_script(&program)),
    ];
    if args.pre_push {
        hooks.push(("pre-push", pre_push_script(&program)));
    }
    // Check every hook before writing any, so a refusal leaves nothing half done.
    for (name, _) in &hooks {
        let path = dir.join(name);
        if is_foreign(&path)? && !args.force {
            anyhow::bail!(
                "`{}` exists and was not written by keygate; rerun with --force to keep it as `{name}.{KEPT}` and run it before keygate's",
                path.display()
            );
        }
    }
    for (name, script) in hooks {
        let path = dir.join(name);
        // The new hook is complete on disk before anything is moved, so that git
        // never finds a hook half written, nor the old one gone without the new one.
        let mut pending = atomic::Pending::create(&path)?;
        let mut file = pending.file()?;
        file.write_all(script.as_bytes())
            .and_then(|()| file.flush())
            .with_context(|| {
                format!("cannot write `{}` (it was left as it was)", path.display())
            })?;
        drop(file);
        if is_foreign(&path)? {
            let kept = dir.join(format!("{name}.{KEPT}"));
            fs::rename(&path, &kept).with_context(|| {
                format!("cannot move `{}` to `{}`", path.display(), kept.display())
            })?;
            if let Err(err) = pending.commit(Some(0o755)) {
                // Put the user's hook back where git looks for it.
                let _ = fs::rename(&kept, &path);
                return Err(err);
            }
            eprintln!(
                "keygate: kept the previous hook as `{}`; it still runs first",
                kept.display()
            );
        } else {
            pending.commit(Some(0o755))?;
        }
        eprintln!("keygate: installed `{}`", path.display());
    }
    Ok(Outcome::Clean)
}

/// Where git runs hooks from for this repository.
pub fn hooks_dir(repo: &git2::Repository) -> anyhow::Result<PathBuf> {
    let config = repo.config().context("cannot read the git configuration")?;
    match config.get_path("core.hooksPath") {
        Ok(path) if path.is_absolute() => Ok(path),
        Ok(path) => {
            // git runs hooks from the top of the work tree (the git directory when
            // bare), and reads a relative hooksPath from there.
            let base = repo.workdir().unwrap_or_else(|| repo.path());
            Ok(base.join(path))
        }
        Err(_) => Ok(repo.commondir().join("hooks")),
    }
}

/// True when `path` is a hook keygate did not write.
fn is_foreign(path: &Path) -> anyhow::Result<bool> {
    match fs::read(path) {
        Ok(bytes) => Ok(!String::from_utf8_lossy(&bytes).contains(MARKER)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// The keygate that is installing, so the hook works without keygate on `PATH`; the
/// hook falls back to `PATH` if that file goes away.
fn program_path() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "keygate".into())
}

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The lines every hook starts with: the marker, the program, the kept hook.
fn preamble(hook: &str, what: &str, program: &str) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Blocks {what} that add API keys or other secrets. Remove this file to stop it.
keygate={program}
[ -n "$KEYGATE" ] && keygate=$KEYGATE
[ -x "$keygate" ] || keygate=keygate
kept="$(dirname "$0")/{hook}.{KEPT}"
"#,
        program = shell_quote(program)
    )
}

fn pre_commit_script(program: &str) -> String {
    let mut script = preamble("pre-commit", "commits", program);
    script.push_str(
        r#"if [ -x "$kept" ]; then
    "$kept" "$@" || exit $?
fi
"$keygate" scan --staged
status=$?
"#,
    );
    script.push_str(BLOCKED);
    script
}

/// What the commit hooks say when they block a commit: the same for a key in the
/// staged changes and one in the message.
const BLOCKED: &str = r#"if [ "$status" -eq 1 ]; then
    echo "keygate: commit blocked. Remove the key, or mark a false positive with a \`keygate:allow\` comment on its line; \`git commit --no-verify\` skips this check." >&2
fi
exit "$status"
"#;

/// git runs `commit-msg` with the message file (`.git/COMMIT_EDITMSG`) as `$1`, from
/// the top of the work tree, after a kept hook may have edited it.
fn commit_msg_script(program: &str) -> String {
    let mut script = preamble("commit-msg", "commits whose messages", program);
    script.push_str(
        r#"if [ -x "$kept" ]; then
    "$kept" "$@" || exit $?
fi
"$keygate" scan --commit-msg "$1"
status=$?
"#,
    );
    script.push_str(BLOCKED);
    script
}

fn pre_push_script(program: &str) -> String {
    let mut script = preamble("pre-push", "pushes", program);
    script.push_str(
        r#"remote="$1"
input=$(cat)
if [ -x "$kept" ]; then
    printf '%s\n' "$input" | "$kept" "$@" || exit $?
fi
status=0
while read -r local_ref local_sha remote_ref remote_sha; do
    [ -n "$local_sha" ] || continue
    case "$local_sha" in
        *[!0]*) ;;
        *) continue ;; # a deletion pushes no commits
    esac
    case "$remote_sha" in
        *[!0]*) known=yes ;;
        *) known=no ;;
    esac
    if [ "$known" = yes ] && git cat-file -e "$remote_sha^{commit}" 2>/dev/null; then
        range="$remote_sha..$local_sha"
    else
        # A new branch: the commits no ref of this remote holds yet.
        range="$(printf '%s' "$local_sha" | tr 0-9a-f 0)..$local_sha $(git for-each-ref --format='^%(objectname)' "refs/remotes/$remote/")"
    fi
    "$keygate" scan --range "$range"
    code=$?
    if [ "$code" -ne 0 ]; then
        [ "$code" -eq 1 ] && echo "keygate: push of \`$local_ref\` blocked. Remove the key from the commits (rewrite them), or mark a false positive with a \`keygate:allow\` comment; \`git push --no-verify\` skips this check." >&2
        status=$code
    fi
done <<EOF
$input
EOF
exit "$status"
"#,
    );
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }

    #[test]
    fn hooks_carry_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        for (name, script) in [
            ("pre-commit", pre_commit_script("/bin/keygate")),
            ("commit-msg", commit_msg_script("/bin/keygate")),
            ("pre-push", pre_push_script("/bin/keygate")),
        ] {
            // The script starts with its interpreter, the marker is a line of its own, and
            // a hook holding it is recognised as keygate's own.
            let lines: Vec<&str> = script.lines().collect();
            assert!(lines[0].starts_with("#!"), "{name}: {script}");
            assert!(lines.contains(&MARKER), "{name}: {script}");
            assert!(script.contains("/bin/keygate"), "{name}: {script}");
            let ours = dir.path().join(name);
            std::fs::write(&ours, &script).unwrap();
            assert!(!is_foreign(&ours).unwrap(), "{name}");
        }
        // A hook without the marker is someone else's, and a missing one is nobody's.
        let foreign = dir.path().join("foreign");
        std::fs::write(&foreign, "#!/bin/sh\nexec make lint\n").unwrap();
        assert!(is_foreign(&foreign).unwrap());
        assert!(!is_foreign(&dir.path().join("absent")).unwrap());
    }
}
