//! Settings: the command line and the configuration file resolved into what a scan
//! runs with.
//!
//! This is the one place where flags meet `.keygate.toml`: which source, which
//! rules, which allowlists and baseline, which output. Commands take a
//! [`ScanSettings`] and never look at raw arguments again.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::baseline::Baseline;
use crate::cli::{CommonArgs, Format, ScanArgs, StatusArg, ValidateArgs};
use crate::config::{Config, CONFIG_FILE};
use crate::finding::Status;
use crate::range_base::RangeBase;
use crate::rules::RuleSet;
use crate::sources::message::TextsSource;
use crate::suppress::Suppressor;
use crate::validate::{Endpoints, ValidateSettings};

/// What a scan reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Files and folders; `strip_dot` when the user named none.
    Paths {
        paths: Vec<PathBuf>,
        strip_dot: bool,
    },
    Stdin,
    Staged {
        repo: PathBuf,
    },
    History {
        repo: PathBuf,
        revs: Vec<String>,
    },
    Range {
        repo: PathBuf,
        range: String,
    },
    /// A proposed commit message (`--commit-msg`), in the repository at `repo`.
    CommitMsg {
        file: PathBuf,
        repo: PathBuf,
    },
}

impl Target {
    /// The folder whose `.keygate.toml` applies: the repository root, or else (when
    /// the root has none, or there is no repository) the scanned folder.
    pub fn config_dir(&self) -> Option<PathBuf> {
        let scanned = match self {
            Target::Paths { paths, .. } => {
                let first = paths.first()?;
                if first.is_dir() {
                    first.clone()
                } else {
                    first.parent().map(Path::to_path_buf).unwrap_or_default()
                }
            }
            Target::Stdin => std::env::current_dir().ok()?,
            Target::Staged { repo }
            | Target::History { repo, .. }
            | Target::Range { repo, .. }
            | Target::CommitMsg { repo, .. } => repo.clone(),
        };
        let scanned = if scanned.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            scanned
        };
        match repo_root(&scanned) {
            Some(root)
                if root.join(CONFIG_FILE).is_file() || !scanned.join(CONFIG_FILE).is_file() =>
            {
                Some(root)
            }
            _ => Some(scanned),
        }
    }

    /// The folder that the paths of findings are relative to: the repository root
    /// for git sources, the current folder otherwise.
    pub fn paths_base(&self) -> PathBuf {
        let cwd = std::env::current_dir().unwrap_or_default();
        match self {
            Target::Staged { repo }
            | Target::History { repo, .. }
            | Target::Range { repo, .. }
            | Target::CommitMsg { repo, .. } => repo_root(repo).unwrap_or(cwd),
            Target::Paths { .. } | Target::Stdin => cwd,
        }
    }

    /// True when the scan covers only part of what a baseline was made from (added
    /// lines, standard input), so that baseline entries matching nothing are not
    /// evidence that they are stale.
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            Target::Staged { .. } | Target::Range { .. } | Target::Stdin | Target::CommitMsg { .. }
        )
    }
}

/// True when `dir` is (in) a bare repository.
fn is_bare(dir: &Path) -> bool {
    git2::Repository::discover(dir).is_ok_and(|repo| repo.is_bare())
}

/// The work tree root of the repository around `dir`, if any.
fn repo_root(dir: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(dir).ok()?;
    repo.workdir().map(Path::to_path_buf)
}

/// Output settings.
#[derive(Clone, Debug)]
pub struct OutputSettings {
    pub format: Format,
    pub path: Option<PathBuf>,
    pub color: bool,
    pub show_secrets: bool,
    pub include_suppressed: bool,
    pub progress: bool,
    /// Where the scanned tree sits, for reporters that anchor paths (SARIF).
    pub source: SourceContext,
}

/// The tree a scan reads, as SARIF needs it: findings' paths become URIs relative to
/// `root`, and the run records which kind of scan produced them.
#[derive(Clone, Debug, Default)]
pub struct SourceContext {
    /// Absolute: the git work tree root, else the scanned folder.
    pub root: Option<PathBuf>,
    /// Findings' paths are already relative to `root` (git sources); otherwise they
    /// are as the user named them, relative to the current folder or absolute.
    pub paths_relative_to_root: bool,
    /// `files`, `stdin`, `staged`, `history`, `range` or `commit-msg`.
    pub kind: &'static str,
}

impl SourceContext {
    /// `config_dir` is [`Target::config_dir`], found once by the caller: each call
    /// opens the repository again.
    fn of(target: &Target, config_dir: Option<PathBuf>) -> SourceContext {
        let (kind, git) = match target {
            Target::Paths { .. } => ("files", false),
            Target::Stdin => ("stdin", false),
            Target::Staged { .. } => ("staged", true),
            Target::History { .. } => ("history", true),
            Target::Range { .. } => ("range", true),
            Target::CommitMsg { .. } => ("commit-msg", true),
        };
        let root = config_dir
            .map(|dir| dir.canonicalize().unwrap_or(dir))
            .map(|dir| std::path::absolute(&dir).unwrap_or(dir));
        SourceContext {
            root,
            paths_relative_to_root: git,
            kind,
        }
    }
}

/// Everything a scan runs with.
pub struct ScanSettings {
    pub target: Target,
    pub rules: RuleSet,
    pub suppressor: Suppressor,
    pub config: Config,
    pub output: OutputSettings,
    pub threads: usize,
    pub max_file_size: Option<u64>,
    /// `--max-decode-depth`.
    pub decode_depth: usize,
    /// `--max-archive-depth` and the other archive limits.
    pub archives: crate::unpack::Limits,
    pub exit_code: u8,
    pub no_git: bool,
    pub follow: bool,
    /// `--validate`: from the command line and the environment only, never from a
    /// config file.
    pub validation: Option<crate::validate::ValidateSettings>,
    /// `--status`: the statuses kept; empty keeps every finding.
    pub status_filter: Vec<crate::finding::Status>,
    /// Texts scanned besides the target, under the same settings (a pull request's
    /// title and body, for the Action).
    pub messages: TextsSource,
}

impl ScanSettings {
    /// Resolves scan arguments: target, config, rules, baseline, output.
    pub fn resolve(args: &ScanArgs) -> anyhow::Result<ScanSettings> {
        let target = resolve_target(args)?;
        let config_dir = target.config_dir();
        let from_disk = || -> anyhow::Result<Option<Baseline>> {
            Ok(args
                .common
                .baseline
                .as_deref()
                .map(Baseline::load)
                .transpose()?)
        };
        let (config, baseline) = match &target {
            // Merge and push checks judge a change by its base's rules: see `range_base`.
            Target::Range { repo, range } => {
                let base = RangeBase::resolve(repo, range)?;
                let config = base.config(args.common.config.as_deref())?;
                let baseline = match &args.common.baseline {
                    Some(path) => base.baseline(path)?,
                    None => None,
                };
                (config, baseline)
            }
            // A bare repository has no work tree to hold a config: its HEAD holds it.
            Target::History { repo, .. } if args.common.config.is_none() && is_bare(repo) => {
                (RangeBase::head(repo)?.config(None)?, from_disk()?)
            }
            _ => (
                load_config(args.common.config.as_deref(), config_dir.clone())?,
                from_disk()?,
            ),
        };
        let mut rules = RuleSet::builtin()?;
        config.apply_to_rules(&mut rules)?;
        let mut suppressor = config.suppressor(&target.paths_base())?;
        suppressor.baseline = baseline;
        let mut output = resolve_output(&args.common);
        output.source = SourceContext::of(&target, config_dir);
        Ok(ScanSettings {
            target,
            rules,
            suppressor,
            config,
            output,
            threads: resolve_threads(args.common.threads),
            max_file_size: args.common.max_file_size,
            decode_depth: args.common.max_decode_depth,
            archives: {
                let defaults = crate::unpack::Limits::default();
                let c = &args.common;
                crate::unpack::Limits {
                    depth: c.max_archive_depth,
                    archive_bytes: c.max_archive_bytes.unwrap_or(defaults.archive_bytes),
                    member_bytes: c.max_member_bytes.unwrap_or(defaults.member_bytes),
                    members: c.max_archive_members.unwrap_or(defaults.members),
                    ratio: c.max_archive_ratio.unwrap_or(defaults.ratio),
                }
            },
            exit_code: args.common.exit_code,
            no_git: args.no_git,
            follow: args.follow,
            validation: resolve_validation(&args.validate)?,
            status_filter: args
                .validate
                .status
                .iter()
                .map(|s| match s {
                    StatusArg::Live => Status::Live,
                    StatusArg::Invalid => Status::Invalid,
                    StatusArg::Revoked => Status::Revoked,
                    StatusArg::Unknown => Status::Unknown,
                })
                .collect(),
            messages: TextsSource::default(),
        })
    }
}

/// `--validate` and its options; the environment may point providers elsewhere
/// (`KEYGATE_ENDPOINT_<PROVIDER>`), a config file may not.
fn resolve_validation(args: &ValidateArgs) -> anyhow::Result<Option<ValidateSettings>> {
    if !args.validate {
        return Ok(None);
    }
    Ok(Some(ValidateSettings {
        timeout: seconds(args.validation_timeout, "--validation-timeout")?,
        endpoints: Endpoints::resolve(&args.endpoints, |var| std::env::var(var).ok())?,
    }))
}

/// A positive number of seconds as a duration.
pub fn seconds(secs: f64, flag: &str) -> anyhow::Result<std::time::Duration> {
    if !(secs.is_finite() && secs > 0.0 && secs <= 600.0) {
        bail!("{flag} takes a number of seconds above 0 and at most 600, not `{secs}`");
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn resolve_target(args: &ScanArgs) -> anyhow::Result<Target> {
    let single_repo = |what: &str| -> anyhow::Result<PathBuf> {
        match args.paths.as_slice() {
            [] => Ok(PathBuf::from(".")),
            [one] => Ok(one.clone()),
            _ => bail!(
                "{what} takes one repository, not {} paths",
                args.paths.len()
            ),
        }
    };
    if let Some(file) = &args.commit_msg {
        // The hook runs at the top of the work tree; the message file may lie
        // anywhere (`.git/COMMIT_EDITMSG`, a worktree's git folder).
        return Ok(Target::CommitMsg {
            file: file.clone(),
            repo: single_repo("--commit-msg")?,
        });
    }
    if args.staged {
        return Ok(Target::Staged {
            repo: single_repo("--staged")?,
        });
    }
    if args.history {
        return Ok(Target::History {
            repo: single_repo("--history")?,
            revs: args.revs.clone(),
        });
    }
    if let Some(range) = &args.range {
        if !range.contains("..") {
            bail!("--range takes `A..B`, not `{range}`");
        }
        return Ok(Target::Range {
            repo: single_repo("--range")?,
            range: range.clone(),
        });
    }
    let dash = args.paths.iter().any(|p| p.as_os_str() == "-");
    if args.stdin || dash {
        if args.paths.len() > usize::from(dash) {
            bail!("standard input (`-`) cannot be scanned together with paths");
        }
        return Ok(Target::Stdin);
    }
    if args.paths.is_empty() {
        return Ok(Target::Paths {
            paths: vec![PathBuf::from(".")],
            strip_dot: true,
        });
    }
    Ok(Target::Paths {
        paths: args.paths.clone(),
        strip_dot: false,
    })
}

/// `--config FILE`, else `.keygate.toml` in `dir` if it exists, else no config.
pub fn load_config(explicit: Option<&Path>, dir: Option<PathBuf>) -> anyhow::Result<Config> {
    if let Some(path) = explicit {
        return Ok(Config::load(path)?);
    }
    let Some(dir) = dir else {
        return Ok(Config::default());
    };
    let path = dir.join(CONFIG_FILE);
    if path.is_file() {
        return Ok(Config::load(&shown_from_cwd(&path))?);
    }
    Ok(Config::default())
}

/// A discovered path as messages should show it: relative to the current folder when
/// it lies beneath it (`.keygate.toml`, not `/home/me/repo/.keygate.toml`).
pub fn shown_from_cwd(path: &Path) -> PathBuf {
    if let Ok(relative) = path.strip_prefix(".") {
        return relative.to_path_buf();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    match path.strip_prefix(&cwd) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

fn resolve_output(common: &CommonArgs) -> OutputSettings {
    let inferred = common
        .output
        .as_ref()
        .and_then(|path| match path.extension()?.to_str()? {
            "sarif" => Some(Format::Sarif),
            "json" => Some(Format::Json),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        });
    let format = common.format.or(inferred).unwrap_or(Format::Human);
    let terminal = common.output.is_none() && std::io::stdout().is_terminal();
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    OutputSettings {
        format,
        path: common.output.clone(),
        color: terminal && !common.no_color && !no_color_env,
        show_secrets: common.show_secrets,
        include_suppressed: common.include_suppressed,
        progress: !common.no_progress && std::io::stderr().is_terminal(),
        source: SourceContext::default(),
    }
}

fn resolve_threads(requested: Option<usize>) -> usize {
    match requested {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(2, |n| n.get()),
    }
}
