//! The configuration file, `.keygate.toml`: allowlists, disabled rules, custom rules.
//!
//! Parsed strictly: an unknown key, a bad glob or regex, or a custom rule that does
//! not compile is an error that names the file, the line and column, and the problem.
//! `settings` applies a parsed [`ConfigSyntax`] to the rule set and the suppressor.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::rules::{RuleSet, RuleSyntax};
use crate::suppress::Suppressor;

/// The file name looked for at the repository root or the scanned folder.
pub const CONFIG_FILE: &str = ".keygate.toml";

/// `.keygate.toml` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSyntax {
    /// Rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub allow: AllowSyntax,
    /// Custom rules in the built-in rule format.
    #[serde(default)]
    pub rules: Vec<RuleSyntax>,
}

/// `[allow]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSyntax {
    /// Globs, relative to the config file's folder, of paths never reported.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes; a secret one of them matches is not reported.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// Literal secrets that are not reported.
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("config `{path}`: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// A parsed configuration and where it came from.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub syntax: ConfigSyntax,
    /// The file it was read from, for messages (`None`: no config).
    pub path: Option<PathBuf>,
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        Config::parse(&text, &path.display().to_string()).map(|syntax| Config {
            syntax,
            path: Some(path.to_path_buf()),
        })
    }

    /// Parses config text; `name` is used in messages.
    pub fn parse(text: &str, name: &str) -> Result<ConfigSyntax, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError {
            path: name.to_string(),
            message: describe_toml_error(text, &e),
        })
    }

    fn error(&self, message: String) -> ConfigError {
        ConfigError {
            path: self
                .path
                .as_ref()
                .map_or_else(|| "(none)".into(), |p| p.display().to_string()),
            message,
        }
    }

    /// Adds the custom rules and removes the disabled ones. Custom regexes are
    /// compiled now, so that a broken one stops the run instead of being skipped.
    pub fn apply_to_rules(&self, rules: &mut RuleSet) -> Result<(), ConfigError> {
        let origin = self
            .path
            .as_ref()
            .map_or_else(|| CONFIG_FILE.to_string(), |p| p.display().to_string());
        for syntax in &self.syntax.rules {
            rules
                .add(syntax.clone(), &origin)
                .map_err(|e| self.error(e.to_string()))?;
            let rule = rules
                .find(&syntax.id)
                .expect("the rule was added just above");
            rule.regex().map_err(|e| self.error(e.to_string()))?;
        }
        rules
            .disable(&self.syntax.disable)
            .map_err(|e| self.error(format!("`disable`: {e}")))
    }

    /// Builds the allowlists of a suppressor; `root` is the folder path globs are
    /// relative to.
    pub fn suppressor(&self, root: Option<PathBuf>) -> Result<Suppressor, ConfigError> {
        let allow = &self.syntax.allow;
        let mut globs = GlobSetBuilder::new();
        for pattern in &allow.paths {
            let glob = Glob::new(pattern)
                .map_err(|e| self.error(format!("`allow.paths`: `{pattern}`: {e}")))?;
            globs.add(glob);
        }
        let paths = if allow.paths.is_empty() {
            None
        } else {
            Some(
                globs
                    .build()
                    .map_err(|e| self.error(format!("`allow.paths`: {e}")))?,
            )
        };
        let regexes = allow
            .regexes
            .iter()
            .map(|pattern| {
                Regex::new(pattern)
                    .map_err(|e| self.error(format!("`allow.regexes`: `{pattern}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Suppressor {
            paths,
            paths_root: root,
            regexes,
            secrets: allow.secrets.iter().cloned().collect(),
            baseline: Default::default(),
        })
    }
}

/// A TOML error as one line: `line L, column C: what is wrong`.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_string();
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let err = Config::parse("[allow]\npaths = []\nsecret = [\"x\"]\n", "k.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("k.toml"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("secret"), "{text}");
    }

    #[test]
    fn a_bad_glob_is_an_error() {
        let config = Config {
            syntax: Config::parse("[allow]\npaths = [\"a/[\"]\n", "k.toml").unwrap(),
            path: Some("k.toml".into()),
        };
        assert!(config.suppressor(None).is_err());
    }
}
