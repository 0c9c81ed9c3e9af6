//! Fuzz target `baseline`: see `keygate::fuzzing::baseline` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate::fuzzing::baseline(data));
