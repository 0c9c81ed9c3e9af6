//! Fuzz target `decode`: see `keygate::fuzzing::decode` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate::fuzzing::decode(data));
