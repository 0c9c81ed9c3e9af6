//! Messages: the text git and GitHub keep beside the code, scanned like a file.
//!
//! A key pasted into a commit message, an annotated tag or a pull request's
//! description is as public as one in a file once pushed. The git sources hand each
//! message they walk to [`scan_message`], once per commit or tag; the Action hands
//! the pull request's title and body to [`TextsSource`]. A message goes through the
//! same engine and decoding stage as file content (never through the archive
//! readers: a message is text), under a path that names it (`<commit message>`), and
//! its findings are marked with the [`MessageOf`] they come from, so that reporters
//! say so and `[allow] paths` passes them by. What `git commit` keeps of a proposed
//! message is the business of [`super::commit_msg`].

use std::sync::Arc;

use super::{scan_piece, BlobMeta, ScanContext, Source, Worker};
use crate::finding::{CommitInfo, Finding, MessageOf, Origin};

/// Scans one message and hands its findings to the collector, each with `of` and
/// the commit that `commit` gives; `commit` is called only when there is a finding,
/// so a history walk reads commit details for the few messages that need them.
pub fn scan_message(
    ctx: &ScanContext,
    worker: &mut Worker,
    text: &[u8],
    of: &MessageOf,
    commit: impl FnOnce() -> Option<Arc<CommitInfo>>,
) {
    ctx.collector.add_message(text.len() as u64);
    let mut found = Vec::new();
    find_in_message(ctx, worker, text, of, &mut |f| found.push(f));
    if found.is_empty() {
        return;
    }
    let commit = commit();
    for mut finding in found {
        finding.commit.clone_from(&commit);
        ctx.collector.push(finding);
    }
}

/// The findings in one message, marked as such, without a commit.
pub fn find_in_message(
    ctx: &ScanContext,
    worker: &mut Worker,
    text: &[u8],
    of: &MessageOf,
    emit: &mut dyn FnMut(Finding),
) {
    let meta = BlobMeta::path(of.path());
    scan_piece(
        ctx,
        worker,
        text,
        meta,
        Origin::default(),
        0..usize::MAX,
        &[],
        &mut |mut found| {
            found.message = Some(of.clone());
            emit(found);
        },
    );
}

/// Messages given whole, such as a pull request's title and body.
#[derive(Clone, Debug, Default)]
pub struct TextsSource {
    pub texts: Vec<(MessageOf, String)>,
}

impl Source for TextsSource {
    fn scan(&self, ctx: &ScanContext) -> anyhow::Result<()> {
        let mut worker = Worker::default();
        for (of, text) in &self.texts {
            scan_message(ctx, &mut worker, text.as_bytes(), of, || None);
        }
        Ok(())
    }
}
