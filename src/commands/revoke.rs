//! `keygate revoke SECRET|-`: revoke one key through its provider's API, or say
//! where and how to revoke it by hand.
//!
//! The key is recognised by the built-in rules, through the engine as a scan would
//! find it; `validate::revoke` sends the request. The secret is never printed whole.
//! Exit status: 0 revoked, 3 nothing revoked (no API, or the provider refused), 2 an
//! error.

use std::io::Read;

use anyhow::{bail, Context};

use crate::cli::RevokeArgs;
use crate::engine::{Match, Scanner, Scratch};
use crate::finding::redact;
use crate::rules::{Rule, RuleSet};
use crate::validate::revoke::{self, Revocation};
use crate::validate::Endpoints;
use crate::Outcome;

/// Exit status when nothing was revoked.
pub const NOT_REVOKED: u8 = 3;

pub fn run(args: &RevokeArgs) -> anyhow::Result<Outcome> {
    let secret = if args.secret == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the secret from standard input")?;
        text.trim().to_string()
    } else {
        eprintln!(
            "keygate: note: a secret given as an argument stays in your shell history; \
             `keygate revoke -` reads it from standard input"
        );
        args.secret.trim().to_string()
    };
    if secret.is_empty() || secret.contains(['\n', '\r']) {
        bail!("give one secret, on one line");
    }
    let timeout = crate::settings::seconds(args.timeout, "--timeout")?;
    let endpoints = Endpoints::resolve(&args.endpoints, |var| std::env::var(var).ok())?;
    let shown = redact(&secret);
    let scanner = Scanner::new(RuleSet::builtin()?)?;
    let Some(rule) = recognise(&scanner, &secret) else {
        bail!(
            "`{shown}` is not a kind of key keygate knows (`keygate rules list` shows them); \
             revoke it with the service that issued it"
        );
    };
    println!("`{shown}` is a {} (`{}`)", rule.syntax.name, rule.id());
    let Some(api) = revoke::api_for(rule.id()) else {
        println!("keygate cannot revoke this kind of key through an API; nothing was revoked.");
        print_manual(rule);
        return Ok(Outcome::Findings(NOT_REVOKED));
    };
    match revoke::revoke(api, &secret, &endpoints, timeout) {
        Revocation::Revoked(detail) => {
            println!("revoked: {detail}");
            println!("next: remove it from the code and history, and rotate it where it was used");
            Ok(Outcome::Clean)
        }
        Revocation::Refused(detail) => {
            println!("not revoked: {detail}");
            print_manual(rule);
            Ok(Outcome::Findings(NOT_REVOKED))
        }
        Revocation::Failed(detail) => {
            print_manual(rule);
            bail!("could not revoke `{shown}`: {detail}")
        }
    }
}

/// The rule whose secret is the whole text, else the one that claims most of it.
fn recognise<'a>(scanner: &'a Scanner, secret: &str) -> Option<&'a Rule> {
    let mut scratch = Scratch::default();
    let mut matches: Vec<Match> = Vec::new();
    scanner.scan(secret.as_bytes(), &mut scratch, &mut matches);
    matches
        .iter()
        .max_by_key(|m| {
            let specific = !scanner.rules().get(m.rule).id().starts_with("generic.");
            (m.secret.len() == secret.len(), specific, m.secret.len())
        })
        .map(|m| scanner.rules().get(m.rule))
}

/// Where and how to revoke a key by hand.
fn print_manual(rule: &Rule) {
    let page = rule
        .syntax
        .revoke_url
        .as_deref()
        .unwrap_or("the provider's console");
    println!("revoke it by hand:");
    println!("  1. open {page}");
    println!("  2. delete (or roll) the key there; note first which applications use it");
    println!("  3. give those applications a new key from the environment or a secret store, never the repository");
    println!("  4. look through the provider's usage or audit log for use you did not make");
}
