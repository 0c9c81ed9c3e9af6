//! The `keygate` binary: parse, run, map the outcome to an exit status.

use std::io;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = keygate::cli::Cli::parse();
    match keygate::commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Errors can name refs, paths and config text from a scanned repository.
            let message = format!("{err:#}");
            eprintln!("keygate: error: {}", keygate::quote::controls(&message));
            ExitCode::from(keygate::Outcome::Error.code())
        }
    }
}

/// A reader that closed the pipe (`keygate scan | head`) is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
