//! Fuzz target `index`: see `keygate::fuzzing::index` for what it exercises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate::fuzzing::index(data));
