//! The command line, as clap parses it.
//!
//! These structs are the low-level form of the arguments: what the user typed. The
//! `settings` module resolves them, with the configuration file, into the settings
//! each command runs with.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// keygate keeps API keys out of git: a pre-commit hook, a merge check and a history
/// scan for leaked secrets.
#[derive(Debug, Parser)]
#[command(name = "keygate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, folders, standard input, staged changes, a git history or a range.
    Scan(ScanArgs),
    /// Write git hooks that run keygate before each commit, on its message (and
    /// before each push).
    Install(InstallArgs),
    /// List the rules, or check each against its own examples.
    Rules(RulesArgs),
    /// Record the current findings as accepted, so later scans pass over them.
    Baseline(BaselineArgs),
    /// Validate a configuration file.
    Config(ConfigArgs),
    /// Run as the GitHub Action: scan the range the event names, write SARIF, a job
    /// summary, annotations and step outputs, and fail on findings.
    Action(ActionArgs),
    /// Revoke a key through its provider's API where there is one (GitHub, GitLab,
    /// Slack); otherwise say where and how to revoke it by hand.
    ///
    /// Exit status: 0 the provider revoked the key (or accepted the request to); 3
    /// nothing was revoked (no API for this key: revoke it by hand as printed, or the
    /// provider refused); 2 an error (unreadable input, an unknown kind of key, no
    /// answer).
    Revoke(RevokeArgs),
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped by file, for people.
    Human,
    /// One JSON document (version 1).
    Json,
    /// One JSON finding a line, as found.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

/// What to scan and how.
#[derive(Clone, Debug, Args)]
pub struct ScanArgs {
    /// Files or folders to scan (default: `.`); `-` reads standard input. With
    /// `--staged`, `--history` or `--range`: the repository (default: `.`).
    pub paths: Vec<PathBuf>,

    /// Scan standard input.
    #[arg(long, conflicts_with_all = ["staged", "history", "range"])]
    pub stdin: bool,

    /// Scan a proposed commit message, as git's `commit-msg` hook receives it: the
    /// lines git's cleanup drops (comments, everything below the scissors line) are
    /// left out.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["stdin", "staged", "history", "range"]
    )]
    pub commit_msg: Option<PathBuf>,

    /// Scan what `git commit` would add: the index against HEAD, added lines only.
    #[arg(long, conflicts_with_all = ["history", "range"])]
    pub staged: bool,

    /// Scan every blob reachable from every ref.
    #[arg(long, conflicts_with = "range")]
    pub history: bool,

    /// With --history: walk only from these revisions (repeatable).
    #[arg(long = "rev", value_name = "REV", requires = "history")]
    pub revs: Vec<String>,

    /// Scan what the commits in A..B introduce (merge and push checks).
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,

    /// Treat paths as plain files: no `.gitignore` rules at all.
    #[arg(long)]
    pub no_git: bool,

    /// Follow symbolic links in folders.
    #[arg(long)]
    pub follow: bool,

    #[command(flatten)]
    pub validate: ValidateArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// A provider's verdict on a key, for `--status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Live,
    Invalid,
    Revoked,
    Unknown,
}

/// Asking providers whether found keys work (opt-in; never from a config file).
#[derive(Clone, Debug, Default, Args)]
pub struct ValidateArgs {
    /// Ask each key's provider, once per distinct key, with a free read-only request,
    /// whether the key works (live, invalid, revoked or unknown). Sends found keys over
    /// the network: see the README for every endpoint.
    #[arg(long)]
    pub validate: bool,

    /// Seconds each validation request may take.
    #[arg(long, value_name = "SECS", default_value_t = crate::validate::DEFAULT_TIMEOUT_SECS, requires = "validate")]
    pub validation_timeout: f64,

    /// Send PROVIDER's requests to URL instead of its documented endpoint (HTTPS; plain
    /// HTTP only to this machine); URL replaces scheme and host and may add a path
    /// prefix (`github=https://ghe.example.com/api/v3`). Repeatable; also
    /// `KEYGATE_ENDPOINT_<PROVIDER>`.
    #[arg(long = "endpoint", value_name = "PROVIDER=URL", requires = "validate")]
    pub endpoints: Vec<String>,

    /// With --validate: keep only findings with these statuses (`live,unknown`).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "LIST",
        requires = "validate"
    )]
    pub status: Vec<StatusArg>,
}

/// Options every scanning command shares.
#[derive(Clone, Debug, Args)]
pub struct CommonArgs {
    /// Output format (default: human, or what `--output`'s extension says).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Configuration file (default: `.keygate.toml` at the repository root or the
    /// scanned folder).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Suppress the findings recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Print secrets in full (default: redacted everywhere).
    #[arg(long)]
    pub show_secrets: bool,

    /// Include suppressed findings in the report, marked as such (SARIF
    /// `suppressions`, JSON `suppression`).
    #[arg(long)]
    pub include_suppressed: bool,

    /// Worker threads (default: one a core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// Layers of encoding (base64, hex, percent, escapes, HTML references, UTF-16)
    /// looked through for keys; 0 turns decoding off.
    #[arg(long, value_name = "N", default_value_t = crate::decode::DEFAULT_DEPTH)]
    pub max_decode_depth: usize,

    /// Levels of nested archives (zip family, tar, gzip, bzip2, xz, zstd) opened for
    /// keys; 0 turns archives off.
    #[arg(long, value_name = "N", default_value_t = crate::unpack::DEFAULT_DEPTH)]
    pub max_archive_depth: usize,

    /// Decompressed bytes read from one file's archives, all members together
    /// [default: 268435456, 256 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_archive_bytes: Option<u64>,

    /// Decompressed bytes read from one archive member [default: 67108864, 64 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_member_bytes: Option<u64>,

    /// Archive members opened in one file, nested ones included [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_archive_members: Option<u64>,

    /// Decompressed bytes per compressed byte past which a member is taken for a
    /// bomb and left (applies past its first MiB) [default: 250].
    #[arg(long, value_name = "N")]
    pub max_archive_ratio: Option<u64>,

    /// Exit status when there are findings.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,

    /// No colour (also when `NO_COLOR` is set or output is not a terminal).
    #[arg(long)]
    pub no_color: bool,

    /// No progress bar on long scans.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Clone, Debug, Args)]
pub struct RevokeArgs {
    /// The key, or `-` to read it from standard input (keeps it out of shell history).
    #[arg(value_name = "SECRET|-")]
    pub secret: String,

    /// Send PROVIDER's revocation to URL instead of its documented endpoint
    /// (repeatable; also `KEYGATE_ENDPOINT_<PROVIDER>`).
    #[arg(long = "endpoint", value_name = "PROVIDER=URL")]
    pub endpoints: Vec<String>,

    /// Seconds the request may take.
    #[arg(long, value_name = "SECS", default_value_t = crate::validate::DEFAULT_TIMEOUT_SECS)]
    pub timeout: f64,
}

#[derive(Clone, Debug, Args)]
pub struct InstallArgs {
    /// The repository (default: the one around the current folder).
    pub repo: Option<PathBuf>,
    /// Also install a pre-push hook that scans the pushed commits (and their
    /// messages).
    #[arg(long)]
    pub pre_push: bool,
    /// Replace a hook keygate did not write (the old one is kept and still run).
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Clone, Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule.
    List {
        /// Configuration file whose custom rules to include.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Prove every rule against its examples through the whole engine.
    Check {
        /// Configuration file whose custom rules to check too.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Clone, Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Drop entries of the baseline given by `--baseline` that no longer match.
    #[arg(long)]
    pub prune: bool,
}

#[derive(Clone, Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Clone, Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file (default: `.keygate.toml` here).
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
}

#[derive(Clone, Debug, Args)]
pub struct ActionArgs {
    /// The repository (default: `GITHUB_WORKSPACE`, else `.`).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Scan this range instead of the one the event implies; empty means none.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Where to write the SARIF file.
    #[arg(long, value_name = "FILE", default_value = "keygate.sarif")]
    pub sarif: PathBuf,
    /// Exit 1 when there are findings, so that a required check blocks the merge.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub fail_on_findings: bool,
    /// Further `keygate scan` options, after `--` (`-- --baseline FILE`).
    #[arg(last = true, value_name = "SCAN OPTIONS")]
    pub scan_args: Vec<String>,
}
