//! The configuration file, `.keygate.toml`: allowlists, disabled rules, custom rules.
//!
//! Parsed strictly: an unknown key, a bad glob or regex, a disabled rule that does not
//! exist, or a custom rule that does not compile or does not find its own examples is
//! an error that names the file, the line and column, and the problem; nothing in a
//! config is ever ignored. A config is read from a file or, for merge checks, from a
//! commit (`A:.keygate.toml`). `settings` applies a parsed [`Config`] to the rule set
//! and builds the scan's [`Suppressor`] from it.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::rules::{RuleSet, RuleSyntax};
use crate::suppress::{PathAllowlist, RuleExamples, Suppressor};

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
    /// Custom rules in the built-in rule format, examples included.
    #[serde(default)]
    pub rules: Vec<RuleSyntax>,
    /// Never allowed: read only to refuse them with a clear message (see
    /// [`NETWORK_KEYS`]).
    #[serde(default)]
    validate: Option<toml::Value>,
    #[serde(default)]
    validation: Option<toml::Value>,
    #[serde(default)]
    endpoint: Option<toml::Value>,
    #[serde(default)]
    endpoints: Option<toml::Value>,
}

/// Keys a config file may not hold: validation sends found keys over the network,
/// so whether it runs and where keys go are for the command line and the
/// environment of the person running keygate, never for a scanned repository (a pull
/// request must not send the keys it finds to its author's server).
pub const NETWORK_KEYS: [&str; 4] = ["validate", "validation", "endpoint", "endpoints"];

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

/// A configuration that could not be used: the file, where in it, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file as messages name it (a path, or `REV:.keygate.toml`).
    pub file: String,
    /// 1-based line and column of the offending text, when known.
    pub position: Option<(u64, u64)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config `{}`", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ", line {line}, column {column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a config came from.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    /// How messages name it: its path, or `REV:.keygate.toml` for one read from a commit.
    pub name: String,
    /// The folder its `[allow] paths` globs are relative to. `None` for a config read
    /// from a commit: its globs match repository-relative paths as they are.
    pub dir: Option<PathBuf>,
    /// The text, kept to place errors found after parsing (a bad glob, a rule that
    /// misses its example) on their line.
    text: String,
}

/// A parsed configuration and where it came from.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub syntax: ConfigSyntax,
    /// `None`: no config file applies.
    pub source: Option<ConfigSource>,
}

/// One step of a path into the TOML document, to place an error.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    Name(&'a str),
    Index(usize),
}

impl Config {
    /// Reads and parses a config file; its globs are relative to its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            position: None,
            message: format!("cannot read it: {e}"),
        })?;
        let parent = path.parent().unwrap_or(Path::new("."));
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        Config::from_text(text, name, Some(dir))
    }

    /// Parses config text that came from `name`; `dir` is what its path globs are
    /// relative to (see [`ConfigSource::dir`]).
    pub fn from_text(
        text: String,
        name: String,
        dir: Option<PathBuf>,
    ) -> Result<Config, ConfigError> {
        let syntax = Config::parse(&text, &name)?;
        Ok(Config {
            syntax,
            source: Some(ConfigSource { name, dir, text }),
        })
    }

    /// Parses config text; `name` is used in messages.
    pub fn parse(text: &str, name: &str) -> Result<ConfigSyntax, ConfigError> {
        let syntax: ConfigSyntax = toml::from_str(text).map_err(|e| ConfigError {
            file: name.to_string(),
            position: e.span().map(|span| line_column(text, span.start)),
            message: e.message().trim().to_string(),
        })?;
        let present = [
            syntax.validate.is_some(),
            syntax.validation.is_some(),
            syntax.endpoint.is_some(),
            syntax.endpoints.is_some(),
        ];
        if let Some(index) = present.iter().position(|&p| p) {
            let key = NETWORK_KEYS[index];
            return Err(ConfigError {
                file: name.to_string(),
                position: locate(text, &[Key::Name(key)]),
                message: format!(
                    "`{key}` cannot be set in a config file: validation sends found keys over \
                     the network, so only the command line (`--validate`, `--endpoint`) or the \
                     environment (`KEYGATE_ENDPOINT_<PROVIDER>`) may turn it on or choose \
                     where keys go"
                ),
            });
        }
        Ok(syntax)
    }

    /// The file's name for messages, or `None` when no config applies.
    pub fn name(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.name.as_str())
    }

    /// An error about the value at `keys` (`["allow", "paths", 2]`), placed on its line.
    pub fn error_at(&self, keys: &[Key], message: String) -> ConfigError {
        let (file, position) = match &self.source {
            Some(source) => (source.name.clone(), locate(&source.text, keys)),
            None => (CONFIG_FILE.to_string(), None),
        };
        ConfigError {
            file,
            position,
            message,
        }
    }

    /// The error for custom rule `id`, placed on `field` (and its `item`-th element)
    /// of that rule, or on the rule itself.
    pub fn rule_error(
        &self,
        id: &str,
        field: Option<&str>,
        item: Option<usize>,
        message: String,
    ) -> ConfigError {
        let index = self.syntax.rules.iter().position(|r| r.id == id);
        let mut keys = vec![Key::Name("rules")];
        if let Some(index) = index {
            keys.push(Key::Index(index));
            keys.extend(field.map(Key::Name));
            keys.extend(item.map(Key::Index));
        }
        self.error_at(&keys, message)
    }

    /// Adds the custom rules and removes the disabled ones. Custom regexes are
    /// compiled now, so that a broken one stops the run instead of being skipped; their
    /// examples are proven through the engine by the commands (see
    /// `commands::rules::prove_custom_rules`), which sit above the engine.
    pub fn apply_to_rules(&self, rules: &mut RuleSet) -> Result<(), ConfigError> {
        let origin = self.name().unwrap_or(CONFIG_FILE).to_string();
        for (index, syntax) in self.syntax.rules.iter().enumerate() {
            let here = |field: &'static str, message: String| {
                self.error_at(
                    &[Key::Name("rules"), Key::Index(index), Key::Name(field)],
                    message,
                )
            };
            if syntax.examples.is_empty() {
                return Err(here(
                    "id",
                    format!(
                        "custom rule `{}` has no `examples`: give it at least one text it must find \
                         (`examples = [\"…\"]`), so that keygate can prove it works; a rule that \
                         silently finds nothing is worse than none",
                        syntax.id
                    ),
                ));
            }
            if syntax.reach() > crate::rules::MAX_REACH {
                // Placed on the figure the user set: the defaults alone stay in bounds.
                let field = if syntax.max_len.is_some() {
                    "max_len"
                } else if syntax.lookbehind.is_some() {
                    "lookbehind"
                } else {
                    "keywords"
                };
                return Err(here(
                    field,
                    format!(
                        "custom rule `{}`: {}",
                        syntax.id,
                        crate::rules::reach_message(syntax)
                    ),
                ));
            }
            rules
                .add(syntax.clone(), &origin)
                .map_err(|e| here("id", e.to_string()))?;
            let rule = rules
                .find(&syntax.id)
                .expect("the rule was added just above");
            rule.regex().map_err(|e| here("regex", e.to_string()))?;
        }
        for (index, syntax) in self.syntax.rules.iter().enumerate() {
            if let Some(id) = syntax.yields_to.iter().find(|id| rules.find(id).is_none()) {
                return Err(self.error_at(
                    &[Key::Name("rules"), Key::Index(index), Key::Name("yields_to")],
                    format!("`yields_to` names `{id}`, which no rule has (`keygate rules list` shows them)"),
                ));
            }
        }
        for (index, id) in self.syntax.disable.iter().enumerate() {
            if rules.find(id).is_none() {
                return Err(self.error_at(
                    &[Key::Name("disable"), Key::Index(index)],
                    format!("no rule has the id `{id}` (`keygate rules list` shows them)"),
                ));
            }
        }
        rules
            .disable(&self.syntax.disable)
            .map_err(|e| self.error_at(&[Key::Name("disable")], e))
    }

    /// The ids of the custom rules, in config order.
    pub fn custom_rule_ids(&self) -> impl Iterator<Item = &str> {
        self.syntax.rules.iter().map(|r| r.id.as_str())
    }

    /// Builds the allowlists of a suppressor. `base` is the folder that the paths of
    /// findings are relative to (the current folder, or the repository root for git
    /// sources).
    pub fn suppressor(&self, base: &Path) -> Result<Suppressor, ConfigError> {
        let allow = &self.syntax.allow;
        let paths = if allow.paths.is_empty() {
            None
        } else {
            let mut globs = GlobSetBuilder::new();
            for (index, pattern) in allow.paths.iter().enumerate() {
                let here = |message: String| {
                    self.error_at(
                        &[Key::Name("allow"), Key::Name("paths"), Key::Index(index)],
                        message,
                    )
                };
                for expanded in expand_path_glob(pattern) {
                    let glob = GlobBuilder::new(&expanded)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| {
                            here(format!("`{pattern}` is not a valid glob: {}", e.kind()))
                        })?;
                    globs.add(glob);
                }
            }
            let set = globs.build().map_err(|e| {
                self.error_at(&[Key::Name("allow"), Key::Name("paths")], e.to_string())
            })?;
            let root = self.source.as_ref().and_then(|s| s.dir.clone());
            Some(PathAllowlist::new(set, root, base))
        };
        let regexes = allow
            .regexes
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                Regex::new(pattern).map_err(|e| {
                    self.error_at(
                        &[Key::Name("allow"), Key::Name("regexes"), Key::Index(index)],
                        format!("`{pattern}` is not a valid regex: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(index) = allow.secrets.iter().position(|s| s.trim().is_empty()) {
            return Err(self.error_at(
                &[Key::Name("allow"), Key::Name("secrets"), Key::Index(index)],
                "an empty secret would allow nothing; remove it".into(),
            ));
        }
        Ok(Suppressor {
            paths,
            regexes,
            secrets: allow.secrets.iter().cloned().collect::<HashSet<_>>(),
            baseline: None,
            rule_examples: self.rule_examples(base),
        })
    }

    /// The custom rules' examples, allowed in this config file itself; `None` when it
    /// defines no rule.
    fn rule_examples(&self, base: &Path) -> Option<RuleExamples> {
        let source = self.source.as_ref()?;
        let texts: Vec<String> = self
            .syntax
            .rules
            .iter()
            .flat_map(|r| r.examples.iter().chain(&r.negative_examples))
            .filter(|text| !text.is_empty())
            .cloned()
            .collect();
        if texts.is_empty() {
            return None;
        }
        Some(match &source.dir {
            // Read from disk: its name is its path (relative to the current folder).
            Some(_) => {
                let file = Path::new(&source.name);
                let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
                RuleExamples::new(&file, Some(base), texts)
            }
            // Read from a commit: named `REV:path`, the path repository-relative.
            None => {
                let path = source
                    .name
                    .split_once(':')
                    .map_or(source.name.as_str(), |(_, path)| path);
                RuleExamples::new(Path::new(path), None, texts)
            }
        })
    }
}

/// The globs one `[allow] paths` entry stands for, with `.gitignore`-like meaning: a
/// pattern without a `/` (other than a trailing one) matches at any depth, a leading
/// `/` anchors it at the config's folder, and a pattern that names a folder also
/// covers everything beneath it.
fn expand_path_glob(pattern: &str) -> Vec<String> {
    let trimmed = pattern.strip_suffix('/').unwrap_or(pattern);
    let anchored = trimmed.strip_prefix('/');
    let body = anchored.unwrap_or(trimmed);
    let base = if anchored.is_none() && !body.contains('/') && !body.starts_with("**") {
        format!("**/{body}")
    } else {
        body.to_string()
    };
    if base.ends_with("/**") {
        vec![base]
    } else {
        vec![format!("{base}/**"), base]
    }
}

/// 1-based line and column (in characters) of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (u64, u64) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, column)
}

/// Line and column of the value at `keys` in `text`, or of the nearest enclosing
/// value that exists.
fn locate(text: &str, keys: &[Key]) -> Option<(u64, u64)> {
    use toml::de::{DeTable, DeValue};
    use toml::Spanned;

    let root = DeTable::parse(text).ok()?;
    let span = root.span();
    let root = Spanned::new(span, DeValue::Table(root.into_inner()));
    let mut current = &root;
    for key in keys {
        let next = match key {
            Key::Name(name) => current.get_ref().get(*name),
            Key::Index(index) => current.get_ref().get(*index),
        };
        match next {
            Some(value) => current = value,
            None => break,
        }
    }
    if std::ptr::eq(current, &root) {
        return None;
    }
    Some(line_column(text, current.span().start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_text(text.to_string(), "k.toml".into(), Some(PathBuf::from("/r"))).unwrap()
    }

    /// An unknown key is an error naming the file, its line and column, and the key.
    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let err = Config::parse("[allow]\npaths = []\nsecret = [\"x\"]\n", "k.toml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("config `k.toml`, line 3, column 1: "),
            "{text}"
        );
        assert!(text.contains("secret"), "{text}");
        let err = Config::parse("disabled = []\n", "k.toml").unwrap_err();
        assert_eq!(err.position, Some((1, 1)), "{err}");
    }

    /// A value of the wrong type is placed on its line.
    #[test]
    fn a_value_of_the_wrong_type_names_its_line() {
        let err = Config::parse("\n\n[allow]\npaths = \"fixtures\"\n", "k.toml").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(4), "{err}");
    }

    /// A glob that does not parse is placed on its own array element.
    #[test]
    fn a_bad_glob_is_an_error_on_its_line() {
        let err = config("[allow]\npaths = [\n  \"ok/**\",\n  \"a/[\",\n]\n")
            .suppressor(Path::new("/r"))
            .unwrap_err();
        assert_eq!(err.position, Some((4, 3)), "{err}");
        assert!(err.message.contains("`a/[`"), "{err}");
    }

    /// A regex that does not compile is placed on its own array element.
    #[test]
    fn a_bad_regex_is_an_error_on_its_line() {
        let err = config("[allow]\nregexes = ['(unclosed']\n")
            .suppressor(Path::new("/r"))
            .unwrap_err();
        assert_eq!(err.position, Some((2, 12)), "{err}");
    }

    /// Disabling an id that no rule has names that id, on its element.
    #[test]
    fn disabling_an_unknown_rule_names_the_entry() {
        let err = config("disable = [\"openai.project-key\", \"openai.nope\"]\n")
            .apply_to_rules(&mut RuleSet::builtin().unwrap())
            .unwrap_err();
        assert_eq!(err.position, Some((1, 34)), "{err}");
        assert!(err.message.contains("`openai.nope`"), "{err}");
    }

    const CUSTOM: &str = r#"
[[rules]]
id = "acme.token"
name = "Acme token"
description = "An Acme API token."
keywords = ["acme_"]
regex = '''acme_[a-z0-9]{24}'''
severity = "high"
examples = ["ACME=acme_0123456789abcdefghijklmn"]
"#;

    /// Custom rules join the built-in ones, carry the config as origin, and can be disabled.
    #[test]
    fn custom_rules_are_added_and_can_be_disabled() {
        let mut rules = RuleSet::builtin().unwrap();
        let n = rules.len();
        config(CUSTOM).apply_to_rules(&mut rules).unwrap();
        assert_eq!(rules.len(), n + 1);
        assert_eq!(rules.find("acme.token").unwrap().origin, "k.toml");
        let mut rules = RuleSet::builtin().unwrap();
        config(&format!("disable = [\"acme.token\"]\n{CUSTOM}"))
            .apply_to_rules(&mut rules)
            .unwrap();
        assert_eq!(rules.len(), n);
    }

    /// A custom rule without examples is refused, placed on its `id`.
    #[test]
    fn a_custom_rule_without_examples_is_an_error_on_its_line() {
        let text = CUSTOM.replace("examples = [\"ACME=acme_0123456789abcdefghijklmn\"]\n", "");
        let err = config(&text)
            .apply_to_rules(&mut RuleSet::builtin().unwrap())
            .unwrap_err();
        assert_eq!(err.position, Some((3, 6)), "{err}");
        assert!(err.message.contains("no `examples`"), "{err}");
    }

    /// A custom regex that does not compile is placed on its `regex` line.
    #[test]
    fn a_custom_regex_that_does_not_compile_names_its_line() {
        let text = CUSTOM.replace("acme_[a-z0-9]{24}", "acme_[a-z0-9");
        let err = config(&text)
            .apply_to_rules(&mut RuleSet::builtin().unwrap())
            .unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(7), "{err}");
    }

    /// A custom rule cannot shadow a built-in one by taking its id.
    #[test]
    fn a_custom_rule_may_not_take_a_builtin_id() {
        let text = CUSTOM.replace("acme.token", "openai.project-key");
        let err = config(&text)
            .apply_to_rules(&mut RuleSet::builtin().unwrap())
            .unwrap_err();
        assert!(err.message.contains("already has this id"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(3), "{err}");
    }

    /// Errors about a custom rule point at the field and item concerned.
    #[test]
    fn rule_errors_point_at_the_field_and_item() {
        let err = config(CUSTOM).rule_error("acme.token", Some("examples"), Some(0), "x".into());
        assert_eq!(err.position, Some((9, 13)), "{err}");
    }

    /// `[allow] paths` patterns expand as `.gitignore` patterns read.
    #[test]
    fn path_globs_read_like_gitignore() {
        assert_eq!(expand_path_glob("*.pem"), ["**/*.pem/**", "**/*.pem"]);
        assert_eq!(
            expand_path_glob("fixtures/"),
            ["**/fixtures/**", "**/fixtures"]
        );
        assert_eq!(expand_path_glob("/fixtures"), ["fixtures/**", "fixtures"]);
        assert_eq!(
            expand_path_glob("rules/*.toml"),
            ["rules/*.toml/**", "rules/*.toml"]
        );
        assert_eq!(expand_path_glob("fixtures/**"), ["fixtures/**"]);
    }
}
