//! Standard input (`keygate scan -`), scanned as a stream like a file of any size.

use std::io;

use super::{scan_reader, BlobMeta, ScanContext, Source, Worker};

/// The path findings in standard input carry.
pub const STDIN_PATH: &str = "<stdin>";

/// Standard input as one blob.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdinSource;

impl Source for StdinSource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        let mut worker = Worker::default();
        let mut stdin = io::stdin().lock();
        match scan_reader(ctx, &mut worker, &mut stdin, BlobMeta::path(STDIN_PATH)) {
            Ok(read) => ctx.collector.add_file(read),
            Err(err) => ctx
                .collector
                .error(STDIN_PATH, &super::fs::describe_io(&err)),
        }
        Ok(())
    }
}
