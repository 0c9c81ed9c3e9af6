//! `keygate rules list | check`.
//!
//! `check` proves each rule through the whole engine, as a scan would run it:
//! prefilter, windows, regex, boundary, entropy and placeholder filters, and the
//! yielding of generic rules to specific ones. Each example must be found by its own
//! rule; each negative example must not be.

use std::io::Write;

use crate::cli::{RulesArgs, RulesCommand};
use crate::engine::{Match, Scanner, Scratch};
use crate::rules::RuleSet;
use crate::settings::load_config;
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
    let dir = std::env::current_dir().ok();
    let config = load_config(config, dir)?;
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
    let mut failures = Vec::new();
    let mut scratch = Scratch::default();
    let mut matches: Vec<Match> = Vec::new();
    for (index, rule) in scanner.rules().rules().iter().enumerate() {
        if let Err(err) = rule.regex() {
            failures.push(err.to_string());
            continue;
        }
        for example in &rule.syntax.examples {
            matches.clear();
            scanner.scan(example.as_bytes(), &mut scratch, &mut matches);
            if !matches.iter().any(|m| m.rule == index) {
                let found: Vec<&str> = matches
                    .iter()
                    .map(|m| scanner.rules().get(m.rule).id())
                    .collect();
                failures.push(format!(
                    "`{}` does not find its example {example:?}{}",
                    rule.id(),
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(" (found by {})", found.join(", "))
                    }
                ));
            }
        }
        for negative in &rule.syntax.negative_examples {
            matches.clear();
            scanner.scan(negative.as_bytes(), &mut scratch, &mut matches);
            if matches.iter().any(|m| m.rule == index) {
                failures.push(format!(
                    "`{}` finds its negative example {negative:?}",
                    rule.id()
                ));
            }
        }
    }
    failures
}
