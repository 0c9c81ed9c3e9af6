//! Rules: what a secret looks like, as data.
//!
//! Rule files (`rules/*.toml`, embedded at build time, plus `[[rules]]` from a config
//! file) parse into [`RuleSyntax`]; [`RuleSet`] checks them and turns each into a
//! [`Rule`], whose regex is compiled only when a scan first needs it. The engine
//! (`crate::engine`) builds its keyword prefilter from a `RuleSet`; this module knows
//! nothing of the engine.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The largest a compiled rule regex may grow; far above what any rule needs.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// The furthest a rule may reach around a keyword, in bytes: its `lookbehind`, its
/// longest keyword and its `max_len` together (see [`RuleSyntax::reach`]). A stream
/// is scanned in chunks that share this much context on each side of every cut, so
/// a rule that reached further could lose a key at a cut; such a rule is refused.
pub const MAX_REACH: usize = 32 << 10;

/// How bad a leak of this kind is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule file as written: `[[rules]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFileSyntax {
    pub rules: Vec<RuleSyntax>,
}

/// One rule as written in TOML, before any check.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSyntax {
    /// Stable id, `provider.kind` (`openai.project-key`).
    pub id: String,
    pub name: String,
    pub description: String,
    /// Literals for the prefilter, matched ASCII-case-insensitively. The regex runs
    /// only near where one of them occurs.
    pub keywords: Vec<String>,
    /// A `regex::bytes` pattern; a group named `secret` marks the secret inside the
    /// match, else the whole match is the secret.
    pub regex: String,
    /// Shannon entropy floor of the secret, in bits per byte.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    pub severity: Severity,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where a user revokes or rotates such a key.
    #[serde(default)]
    pub revoke_url: Option<String>,
    /// A generic rule yields to any specific rule that finds an overlapping secret.
    #[serde(default)]
    pub generic: bool,
    /// The match may span lines (private key blocks); the regex then sees up to
    /// `max_len` bytes past the keyword whatever the line breaks.
    #[serde(default)]
    pub multiline: bool,
    /// How far past a keyword a match may end, in bytes.
    #[serde(default)]
    pub max_len: Option<usize>,
    /// How far before a keyword a match may start, in bytes (context-anchored rules).
    #[serde(default)]
    pub lookbehind: Option<usize>,
    /// Reject secrets that look like placeholders (`xxxx`, `<your-key>`, `1234...`).
    #[serde(default = "default_true")]
    pub placeholder_check: bool,
    /// Require that the secret is not glued to other word characters on either side.
    #[serde(default = "default_true")]
    pub boundary_check: bool,
    /// The secret opens with a prefix that no word or identifier ends in (`sk-proj-`,
    /// `ghp_`, `xoxb-`): it is a key even glued to the text before it
    /// (`OPENAI_API_KEYsk-proj-…`), so only its end is boundary-checked. Prefixes that
    /// words do end in (plain `sk-`: `task-`, `disk-`) keep both checks.
    #[serde(default)]
    pub distinctive_prefix: bool,
    /// Reject secrets that read as identifiers built from words
    /// (`GoogleCloudAiplatformV1beta1SecretEnvVar`, `sk-MyWidgetComponentFactory`): for
    /// rules whose secret has no distinctive prefix and is found by its context or a
    /// short prefix alone.
    #[serde(default)]
    pub identifier_check: bool,
    /// Rules this one yields to: where one of them finds an overlapping secret, this
    /// rule's match is dropped, so that a key is reported once, under its most precise
    /// name (a key body without its prefix yields to the rules of prefixed keys).
    #[serde(default)]
    pub yields_to: Vec<String>,
    /// Texts in which the rule must find a secret.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts in which the rule must find nothing.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

fn default_true() -> bool {
    true
}

impl RuleSyntax {
    /// Bytes past the end of a keyword that a match may reach.
    pub fn max_len(&self) -> usize {
        self.max_len
            .unwrap_or(if self.multiline { 16 * 1024 } else { 1024 })
    }

    /// Bytes before the start of a keyword where a match may begin.
    pub fn lookbehind(&self) -> usize {
        self.lookbehind.unwrap_or(256)
    }

    /// How far around a keyword the rule looks: from `lookbehind` bytes before the
    /// keyword to `max_len` bytes past its end, for its longest keyword. A match of
    /// the rule lies within this many bytes of any byte of it.
    pub fn reach(&self) -> usize {
        let keyword = self.keywords.iter().map(String::len).max().unwrap_or(0);
        self.lookbehind()
            .saturating_add(keyword)
            .saturating_add(self.max_len())
    }
}

/// Why a rule or rule file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule file `{file}`: {message}")]
    File { file: String, message: String },
    #[error("rule `{id}` (from `{origin}`): {message}")]
    Invalid {
        id: String,
        origin: String,
        message: String,
    },
    #[error("rule `{id}`: regex does not compile: {message}")]
    Regex { id: String, message: String },
}

/// Why a rule that reaches too far is refused, with the figures that make its reach.
pub fn reach_message(syntax: &RuleSyntax) -> String {
    let keyword = syntax.keywords.iter().map(String::len).max().unwrap_or(0);
    format!(
        "`lookbehind` ({}) + longest keyword ({keyword}) + `max_len` ({}) reach {} bytes \
         around a keyword; at most {MAX_REACH} are allowed, the context keygate keeps on \
         each side of a cut when it scans a long stream in chunks",
        syntax.lookbehind(),
        syntax.max_len(),
        syntax.reach(),
    )
}

/// A checked rule, ready for the engine. Its regex is compiled on first use.
#[derive(Debug)]
pub struct Rule {
    pub syntax: RuleSyntax,
    /// Where the rule came from: a built-in file name or a config path.
    pub origin: String,
    regex: OnceLock<Result<Regex, String>>,
    /// The regex anchored at both ends, to judge a whole run (see [`Rule::whole_regex`]).
    whole_regex: OnceLock<Result<Regex, String>>,
    secret_group: OnceLock<Option<usize>>,
}

impl Rule {
    /// Checks a parsed rule. The regex is not compiled here (see [`Rule::regex`]).
    pub fn new(syntax: RuleSyntax, origin: &str) -> Result<Rule, RuleError> {
        let invalid = |message: String| RuleError::Invalid {
            id: syntax.id.clone(),
            origin: origin.to_string(),
            message,
        };
        if syntax.id.trim().is_empty() || syntax.id.contains(char::is_whitespace) {
            return Err(invalid(
                "the id must be non-empty and without spaces".into(),
            ));
        }
        if syntax.keywords.is_empty() {
            return Err(invalid(
                "at least one keyword is needed for the prefilter".into(),
            ));
        }
        if let Some(k) = syntax
            .keywords
            .iter()
            .find(|k| k.len() < 3 || !k.is_ascii())
        {
            return Err(invalid(format!(
                "keyword `{k}` must be ASCII and at least 3 bytes long"
            )));
        }
        if syntax.examples.is_empty() {
            return Err(invalid(
                "a rule needs `examples` that it must find (and should have `negative_examples`)"
                    .into(),
            ));
        }
        if syntax.reach() > MAX_REACH {
            return Err(invalid(reach_message(&syntax)));
        }
        if let Some(e) = syntax.min_entropy {
            if !(0.0..=8.0).contains(&e) {
                return Err(invalid(format!(
                    "min_entropy {e} is outside 0 to 8 bits per byte"
                )));
            }
        }
        Ok(Rule {
            syntax,
            origin: origin.to_string(),
            regex: OnceLock::new(),
            whole_regex: OnceLock::new(),
            secret_group: OnceLock::new(),
        })
    }

    pub fn id(&self) -> &str {
        &self.syntax.id
    }

    /// The compiled regex, built on first call and shared by every thread after.
    pub fn regex(&self) -> Result<&Regex, RuleError> {
        self.compiled(&self.regex, || self.syntax.regex.clone())
    }

    /// The regex anchored at both ends (`\A(?:regex)\z`), built on first call: it
    /// tells whether any reading of the regex covers a whole run of bytes, where the
    /// plain regex reports only the first reading it finds. Its capture groups are
    /// numbered as the plain regex's.
    pub fn whole_regex(&self) -> Result<&Regex, RuleError> {
        self.compiled(&self.whole_regex, || {
            format!("\\A(?:{})\\z", self.syntax.regex)
        })
    }

    fn compiled<'a>(
        &self,
        cell: &'a OnceLock<Result<Regex, String>>,
        pattern: impl FnOnce() -> String,
    ) -> Result<&'a Regex, RuleError> {
        cell.get_or_init(|| {
            RegexBuilder::new(&pattern())
                .unicode(false)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|message| RuleError::Regex {
            id: self.syntax.id.clone(),
            message: message.clone(),
        })
    }

    /// Index of the `secret` capture group, if the regex has one.
    pub fn secret_group(&self, regex: &Regex) -> Option<usize> {
        *self.secret_group.get_or_init(|| {
            regex
                .capture_names()
                .position(|name| name == Some("secret"))
        })
    }

    /// Bytes past the end of a keyword that a match may reach.
    pub fn max_len(&self) -> usize {
        self.syntax.max_len()
    }

    /// Bytes before the start of a keyword where a match may begin.
    pub fn lookbehind(&self) -> usize {
        self.syntax.lookbehind()
    }
}

/// Every rule of a scan, in a fixed order (built-in files by name, then config).
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (file, text) in BUILTIN_RULE_FILES {
            set.add_toml(text, file)?;
        }
        Ok(set)
    }

    /// Parses a rule file and adds its rules.
    pub fn add_toml(&mut self, text: &str, origin: &str) -> Result<(), RuleError> {
        let file: RuleFileSyntax = toml::from_str(text).map_err(|e| RuleError::File {
            file: origin.to_string(),
            message: e.to_string(),
        })?;
        for syntax in file.rules {
            self.add(syntax, origin)?;
        }
        Ok(())
    }

    /// Adds one rule; ids must be unique.
    pub fn add(&mut self, syntax: RuleSyntax, origin: &str) -> Result<(), RuleError> {
        if self.rules.iter().any(|r| r.syntax.id == syntax.id) {
            return Err(RuleError::Invalid {
                id: syntax.id,
                origin: origin.to_string(),
                message: "another rule already has this id".into(),
            });
        }
        self.rules.push(Rule::new(syntax, origin)?);
        Ok(())
    }

    /// Drops the rules whose ids are listed; unknown ids are an error, so that a typo
    /// in a config does not silently keep a rule on.
    pub fn disable(&mut self, ids: &[String]) -> Result<(), String> {
        let known: HashSet<&str> = self.rules.iter().map(|r| r.id()).collect();
        if let Some(unknown) = ids.iter().find(|id| !known.contains(id.as_str())) {
            return Err(format!("no rule has the id `{unknown}`"));
        }
        self.rules.retain(|r| !ids.contains(&r.syntax.id));
        Ok(())
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn find(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse_and_compile() {
        let set = RuleSet::builtin().unwrap();
        // The shipped rule count: a rule file that fails to embed would lower it.
        assert!(set.len() >= 62, "{} rules", set.len());
        for rule in set.rules() {
            let re = rule.regex().unwrap_or_else(|e| panic!("{e}"));
            let _ = rule.secret_group(re);
        }
    }

    /// `yields_to` names rules that exist and are specific: the engine compares a
    /// yielding match with specific matches only.
    #[test]
    fn builtin_rules_yield_to_specific_rules_that_exist() {
        let set = RuleSet::builtin().unwrap();
        for rule in set.rules() {
            for id in &rule.syntax.yields_to {
                let target = set
                    .find(id)
                    .unwrap_or_else(|| panic!("{}: {id}", rule.id()));
                assert!(!target.syntax.generic, "{}: {id} is generic", rule.id());
            }
        }
    }

    #[test]
    fn a_rule_without_examples_is_refused() {
        let mut set = RuleSet::default();
        let err = set
            .add_toml(
                r#"[[rules]]
id = "x.y"
name = "X"
description = "d"
keywords = ["abc"]
regex = "abc[0-9]+"
severity = "low"
"#,
                "test.toml",
            )
            .unwrap_err();
        assert!(err.to_string().contains("examples"), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut set = RuleSet::default();
        let err = set
            .add_toml(
                "[[rules]]\nid = \"x\"\nname = \"X\"\ndescription = \"d\"\nkeywords = [\"abc\"]\nregex = \"abc\"\nseverity = \"low\"\nexamples = [\"abc\"]\nkeyword = \"oops\"\n",
                "test.toml",
            )
            .unwrap_err();
        assert!(err.to_string().contains("keyword"), "{err}");
    }

    #[test]
    fn disabling_an_unknown_rule_is_an_error() {
        let mut set = RuleSet::builtin().unwrap();
        assert!(set.disable(&["no.such-rule".into()]).is_err());
        let n = set.len();
        set.disable(&["openai.project-key".into()]).unwrap();
        assert_eq!(set.len(), n - 1);
    }
}
