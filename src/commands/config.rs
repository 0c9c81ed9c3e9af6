//! `keygate config check`: validate a configuration file without scanning.
//!
//! Runs every check a scan runs on its config: parsing with unknown keys refused,
//! globs and regexes compiled, disabled rule ids looked up, custom rules compiled and
//! proven against their own examples through the engine. A bad config ends with exit
//! status 2 and the same message a scan would give: the file, the line and column,
//! and what is wrong.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::cli::{ConfigArgs, ConfigCommand};
use crate::config::{Config, CONFIG_FILE};
use crate::engine::Scanner;
use crate::rules::RuleSet;
use crate::settings::{shown_from_cwd, Target};
use crate::Outcome;

pub fn run(args: &ConfigArgs) -> anyhow::Result<Outcome> {
    match &args.command {
        ConfigCommand::Check { file } => check(file.as_deref()),
    }
}

fn check(file: Option<&Path>) -> anyhow::Result<Outcome> {
    let path = match file {
        Some(path) => path.to_path_buf(),
        None => {
            // The file a scan of the current folder would use.
            let dir = Target::Stdin
                .config_dir()
                .unwrap_or_else(|| PathBuf::from("."));
            let path = shown_from_cwd(&dir.join(CONFIG_FILE));
            if !path.is_file() {
                bail!(
                    "no `{CONFIG_FILE}` in `{}`: nothing to check (name a file: `keygate config \
                     check FILE`)",
                    dir.display()
                );
            }
            path
        }
    };
    let config = Config::load(&path)?;
    let mut rules = RuleSet::builtin()?;
    config.apply_to_rules(&mut rules)?;
    config.suppressor(&std::env::current_dir().unwrap_or_default())?;
    let scanner = Scanner::new(rules)?;
    super::rules::prove_custom_rules(&scanner, &config)?;

    let syntax = &config.syntax;
    let examples: usize = syntax
        .rules
        .iter()
        .map(|r| r.examples.len() + r.negative_examples.len())
        .sum();
    let allow = &syntax.allow;
    println!(
        "`{}` is valid: {} custom {} ({examples} examples proven), {} {} disabled, {} path {}, {} {} and {} {} allowed",
        path.display(),
        syntax.rules.len(),
        plural(syntax.rules.len(), "rule", "rules"),
        syntax.disable.len(),
        plural(syntax.disable.len(), "rule", "rules"),
        allow.paths.len(),
        plural(allow.paths.len(), "glob", "globs"),
        allow.regexes.len(),
        plural(allow.regexes.len(), "regex", "regexes"),
        allow.secrets.len(),
        plural(allow.secrets.len(), "secret", "secrets"),
    );
    Ok(Outcome::Clean)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}
