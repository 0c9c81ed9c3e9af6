//! The integration tests: the real `keygate` binary run in temporary folders and git
//! repositories. One binary, one module per area; `util` holds the shared harness.

mod rules;
mod scan;
mod util;
