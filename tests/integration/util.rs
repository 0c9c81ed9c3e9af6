//! The test harness: a temporary folder (often a git repository), a way to write files
//! into it, run git in it, and run the real `keygate` binary there; and synthetic keys,
//! built in code so that no fixture file has to hold one.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use tempfile::TempDir;

/// A temporary folder to run keygate in.
pub struct TestEnv {
    pub dir: TempDir,
}

impl TestEnv {
    /// An empty folder, not a git repository.
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::Builder::new()
                .prefix("keygate-test-")
                .tempdir()
                .expect("a temporary folder"),
        }
    }

    /// A fresh git repository with an identity set, on branch `main`.
    pub fn git_repo() -> TestEnv {
        let env = TestEnv::new();
        env.git(&["init", "-q", "-b", "main"]);
        env.git(&["config", "user.name", "Test User"]);
        env.git(&["config", "user.email", "test@example.com"]);
        env.git(&["config", "commit.gpgsign", "false"]);
        env
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `rel`, creating folders.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(&path, contents).expect("write a file");
        path
    }

    /// Runs git here; panics with its output if it fails. Returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.dir.path(), args)
    }

    /// `git add -A && git commit -m message`; returns the new commit id.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// The real binary, run in this folder, without colour or a terminal.
    pub fn keygate(&self) -> Command {
        let mut cmd = Command::cargo_bin("keygate").expect("the keygate binary is built");
        cmd.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE");
        cmd
    }
}

/// Runs git in `dir`; panics with its output if it fails. Returns stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = StdCommand::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2024-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2024-01-02T03:04:05Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Synthetic keys: random-looking, deterministic per seed, and never valid anywhere.
pub mod keys {
    pub const BASE62: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    pub const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    pub const HEX: &str = "0123456789abcdef";

    /// `n` characters of `alphabet`, pseudo-random from `seed` (xorshift).
    pub fn random(seed: u64, n: usize, alphabet: &str) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chars[(state % chars.len() as u64) as usize]
            })
            .collect()
    }

    /// An OpenAI project key in the short 20/20 form.
    pub fn openai_project(seed: u64) -> String {
        format!(
            "sk-proj-{}T3BlbkFJ{}",
            random(seed, 20, BASE62),
            random(seed + 1, 20, BASE62)
        )
    }

    /// Standard base64 with padding, to encode keys the way files hold them.
    pub fn base64(bytes: &[u8]) -> String {
        const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(char::from(STD[(n >> (18 - 6 * i) & 63) as usize]));
            }
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
        out
    }

    /// A legacy OpenAI user key.
    pub fn openai_legacy(seed: u64) -> String {
        format!(
            "sk-{}T3BlbkFJ{}",
            random(seed, 20, BASE62),
            random(seed + 1, 20, BASE62)
        )
    }
}

/// True when `program` is on `PATH`. When it is not, says what is missing and why the
/// test needs it; see [`missing_tool`] for what happens then.
pub fn have_tool(program: &str, why: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    found || missing_tool(&format!("`{program}` is not on PATH ({why})"))
}

/// A test cannot run because an outside tool is missing: under `CI=true` that fails
/// the test (CI must never pass without running it); elsewhere the test says what is
/// missing on stderr and is skipped. Returns `false` so callers can `return`.
pub fn missing_tool(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}; CI=true, so a missing tool fails this test");
    }
    eprintln!("SKIPPED: {what}; install it to run this test (under CI=true this fails)");
    false
}
