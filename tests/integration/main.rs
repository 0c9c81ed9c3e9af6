//! The integration tests: the real `keygate` binary run in temporary folders and git
//! repositories. One binary, one module per area; `util` holds the shared harness.

mod action;
mod alloc;
mod archives;
mod baseline;
mod config;
mod decode;
mod disguise;
mod fuzz_corpus;
mod git;
mod hooks;
mod hostile;
mod hostile_git;
mod install;
mod merge_check;
mod messages;
mod mock;
mod robust;
mod rules;
mod sarif;
mod scan;
mod shapes;
mod snapshots;
mod staged_index;
mod suppress;
mod util;
mod validate;
