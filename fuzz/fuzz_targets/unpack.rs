//! Fuzz target `unpack`: see `keygate::fuzzing::unpack` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate::fuzzing::unpack(data));
