//! Commands: one module a subcommand, each wiring settings, sources and reporters.
//!
//! Commands sit above every other module: `rules check`, which proves rules through
//! the engine, lives here rather than in `rules`, so that `rules` never depends on
//! the engine.

pub mod action;
pub mod baseline;
pub mod config;
pub mod install;
pub mod revoke;
pub mod rules;
pub mod scan;

use crate::cli::{Cli, Command};
use crate::Outcome;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Install(args) => install::run(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::Config(args) => config::run(&args),
        Command::Action(args) => action::run(&args),
        Command::Revoke(args) => revoke::run(&args),
    }
}
