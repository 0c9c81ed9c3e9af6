//! Fuzz target `allow_paths`: see `keygate::fuzzing::allow_paths` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate::fuzzing::allow_paths(data));
