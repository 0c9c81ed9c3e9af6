//! keygate keeps API keys out of git.
//!
//! The flow, one module a stage: [`cli`] parses the command line, [`settings`]
//! resolves it with the [`config`] file (read from the base commit for merge checks:
//! [`range_base`]), [`rules`] loads what secrets look like,
//! [`engine`] finds them in bytes, [`sources`] feed it files, standard input and git,
//! through [`decode`], which turns encoded text back into what a key was,
//! [`finding`] places each match, [`suppress`] and [`baseline`] drop what users have
//! accepted, [`collect`] gathers the results, [`validate`] (opt-in, the only code
//! that talks to the network) asks providers whether the keys work, and [`report`]
//! writes them. The
//! [`commands`] wire these together, one module a subcommand.

pub mod atomic;
pub mod baseline;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod config;
pub mod dates;
pub mod decode;
pub mod engine;
pub mod finding;
#[doc(hidden)]
pub mod fuzzing;
pub mod quote;
pub mod range_base;
pub mod report;
pub mod rules;
pub mod settings;
pub mod sources;
pub mod suppress;
pub mod unpack;
pub mod validate;

/// How a command ended, and so the process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing found: 0.
    Clean,
    /// Findings (or a failed check): 1, or `--exit-code`.
    Findings(u8),
    /// Something could not be read or done: 2.
    Error,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings(code) => code,
            Outcome::Error => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Outcome::Clean.code(), 0);
        assert_eq!(Outcome::Findings(1).code(), 1);
        assert_eq!(Outcome::Findings(7).code(), 7);
        assert_eq!(Outcome::Error.code(), 2);
    }
}
