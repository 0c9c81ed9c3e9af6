//! Fuzz target `engine`: see `keygate::fuzzing::engine` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate::fuzzing::engine(data));
