//! `keygate rules list | check`.
//!
//! `check` proves each rule through the whole engine, as a scan would run it:
//! prefilter, windows, regex, boundary, entropy and placeholder filters, and the
//! yielding of generic rules to specific ones. Each example must be found by its own
//! rule; each negative example must not be.

use std::io::Write;

use crate::cli::{RulesArgs, RulesCommand};
use crate::config::{Config, ConfigError};
use crate::engine::{Match, Scanner, Scratch};
use crate::rules::RuleSet;
use crate::settings::{load_config, Target};
use crate::Outcome;

pub fn run(args: &RulesArgs) -> anyhow::Result<Outcome> {
    match &args.command {
        RulesCommand::List { config, json } => {
            let rules = load_rules(config.as_deref())?;
            list(&rules, *json)?;
            Ok(Outcome::Clean)
        }
        RulesCommand::Check { config } => {
            let scanner = Scanner::new(load_rules(config.as_deref())?)?;
            let failures = check(&scanner);
            let rules = scanner.rules();
            let examples: usize = rules.rules().iter().map(|r| r.syntax.examples.len()).sum();
            let negatives: usize = rules
                .rules()
                .iter()
                .map(|r| r.syntax.negative_examples.len())
                .sum();
            for failure in &failures {
                eprintln!("keygate: rule check failed: {failure}");
            }
            println!(
                "{} rules, {examples} examples, {negatives} negative examples: {}",
                rules.len(),
                if failures.is_empty() {
                    "all pass".to_string()
                } else {
                    format!("{} failed", failures.len())
                }
            );
            Ok(if failures.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Findings(1)
            })
        }
    }
}

fn load_rules(config: Option<&std::path::Path>) -> anyhow::Result<RuleSet> {
    let config = load_config(config, Target::Stdin.config_dir())?;
    let mut rules = RuleSet::builtin()?;
    config.apply_to_rules(&mut rules)?;
    Ok(rules)
}

fn list(rules: &RuleSet, json: bool) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let syntaxes: Vec<_> = rules.rules().iter().map(|r| &r.syntax).collect();
        serde_json::to_writer_pretty(&mut out, &syntaxes)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = rules
        .rules()
        .iter()
        .map(|r| r.id().len())
        .max()
        .unwrap_or(0);
    for rule in rules.rules() {
        writeln!(
            out,
            "{:<width$}  {:<8}  {}",
            rule.id(),
            rule.syntax.severity.as_str(),
            rule.syntax.name
        )?;
    }
    writeln!(out, "{} rules", rules.len())?;
    Ok(())
}

/// Every way the rules fail their own examples, as sentences.
pub fn check(scanner: &Scanner) -> Vec<String> {
    let mut work = Work::default();
    (0..scanner.rules().len())
        .flat_map(|index| check_rule(scanner, index, &mut work))
        .map(|failure| failure.message)
        .collect()
}

/// Proves the custom rules of `config` as `rules check` proves the built-in ones, so
/// that a custom rule that misses its own example stops the run as a bad config,
/// placed on the example's line.
pub fn prove_custom_rules(scanner: &Scanner, config: &Config) -> Result<(), ConfigError> {
    let mut work = Work::default();
    for id in config.custom_rule_ids() {
        // A custom rule that the config also disables is not in the scanner.
        let Some(index) = scanner.rules().rules().iter().position(|r| r.id() == id) else {
            continue;
        };
        if let Some(failure) = check_rule(scanner, index, &mut work).into_iter().next() {
            let (field, item) = match failure.place {
                Some((field, item)) => (Some(field), Some(item)),
                None => (None, None),
            };
            return Err(config.rule_error(id, field, item, failure.message));
        }
    }
    Ok(())
}

/// One way a rule fails its own examples.
#[derive(Debug)]
pub struct RuleFailure {
    /// The field and item at fault (`examples`, 2), when one is.
    pub place: Option<(&'static str, usize)>,
    pub message: String,
}

/// Engine scratch memory reused across rules.
#[derive(Default)]
struct Work {
    scratch: Scratch,
    matches: Vec<Match>,
}

/// Runs rule `index`'s examples and negative examples through the whole scanner.
fn check_rule(scanner: &Scanner, index: usize, work: &mut Work) -> Vec<RuleFailure> {
    let rule = scanner.rules().get(index);
    if let Err(err) = rule.regex() {
        return vec![RuleFailure {
            place: Some(("regex", 0)),
            message: err.to_string(),
        }];
    }
    let mut failures = Vec::new();
    for (item, example) in rule.syntax.examples.iter().enumerate() {
        work.matches.clear();
        scanner.scan(example.as_bytes(), &mut work.scratch, &mut work.matches);
        if !work.matches.iter().any(|m| m.rule == index) {
            let found: Vec<&str> = work
                .matches
                .iter()
                .map(|m| scanner.rules().get(m.rule).id())
                .collect();
            failures.push(RuleFailure {
                place: Some(("examples", item)),
                message: format!(
                    "`{}` does not find its example {example:?}{}",
                    rule.id(),
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(" (found by {})", found.join(", "))
                    }
                ),
            });
        }
    }
    for (item, negative) in rule.syntax.negative_examples.iter().enumerate() {
        work.matches.clear();
        scanner.scan(negative.as_bytes(), &mut work.scratch, &mut work.matches);
        if work.matches.iter().any(|m| m.rule == index) {
            failures.push(RuleFailure {
                place: Some(("negative_examples", item)),
                message: format!("`{}` finds its negative example {negative:?}", rule.id()),
            });
        }
    }
    failures
}
