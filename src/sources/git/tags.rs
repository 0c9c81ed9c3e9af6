//! Annotated tags: their messages, scanned for the history and range sources.
//!
//! A tag object carries a message of its own, as a commit does, and release notes
//! pasted into one can hold a key. Each tag object is scanned once however many refs
//! name it; a tag of a tag is followed to the end of the chain, each link scanned.
//! Findings carry the commit the tag finally names, and the tag itself
//! ([`crate::finding::TagInfo`]); they go through [`crate::sources::message`].

use std::sync::Arc;

use git2::{ObjectType, Oid, Repository};

use super::{commit_info, OidSet};
use crate::finding::{MessageOf, TagInfo};
use crate::sources::message::scan_message;
use crate::sources::{ScanContext, Worker};

/// The objects every ref names directly (tags among them), each once.
pub fn ref_targets(repo: &Repository) -> Vec<Oid> {
    let Ok(refs) = repo.references() else {
        return Vec::new();
    };
    let mut seen = OidSet::default();
    refs.filter_map(Result::ok)
        .filter_map(|r| r.resolve().ok().and_then(|r| r.target()))
        .filter(|oid| seen.insert(*oid))
        .collect()
}

/// Scans the message of each annotated tag among `objects` (other objects are passed
/// over) and of the tags they name in turn, unless `seen` holds it already; a tag
/// counts only when `wanted` accepts the commit it finally names (`None` for a tag
/// of a tree or a blob).
pub fn scan_tags(
    ctx: &ScanContext,
    repo: &Repository,
    objects: &[Oid],
    seen: &mut OidSet,
    wanted: &dyn Fn(Option<Oid>) -> bool,
) {
    let mut worker = Worker::default();
    let Ok(odb) = repo.odb() else { return };
    for &start in objects {
        let mut next = Some(start);
        while let Some(oid) = next.take() {
            if !matches!(odb.read_header(oid), Ok((_, ObjectType::Tag))) || !seen.insert(oid) {
                break;
            }
            let Ok(tag) = repo.find_tag(oid) else { break };
            next = Some(tag.target_id());
            let commit = tag
                .target()
                .ok()
                .and_then(|target| target.peel_to_commit().ok());
            if !wanted(commit.as_ref().map(git2::Commit::id)) {
                continue;
            }
            let of = MessageOf::Tag(Arc::new(TagInfo {
                name: String::from_utf8_lossy(tag.name_bytes()).into_owned(),
                id: oid.to_string(),
            }));
            let message = tag.message_bytes().unwrap_or_default();
            scan_message(ctx, &mut worker, message, &of, || {
                commit.as_ref().map(|c| Arc::new(commit_info(c)))
            });
        }
    }
}
