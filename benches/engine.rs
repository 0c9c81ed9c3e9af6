//! Engine throughput on generated text, no repository files needed.
//!
//! Two inputs of 8 MiB (one chunk): `code`, source-like text with a key every
//! 64 KiB, which is what most scanned bytes look like; and `dense`, text thick with
//! keyword hits (`sk-` in `task-`, `aws`, `password`, `-----BEGIN`, tokens that
//! almost match), the worst case for the windows and regexes behind the prefilter.
//! Each runs with the built-in rules and with the built-in rules plus the stand-in
//! set of `fixtures/bench/standin-rules.toml` (64 more rules shaped like the peers',
//! to see how speed holds as rules are added). `keywords` times the keyword
//! prefilter alone, over the larger set's keywords. `decode` times the decoding
//! stage alone (finding and decoding encoded runs, `keygate::decode`) over the
//! `code` input and over the same text with a base64 line every 4 KiB.
//!
//! Run: `cargo bench --bench engine` (add `-- --quick` for a rough figure).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keygate::engine::keywords::{Hits, KeywordMatcher};
use keygate::engine::{Scanner, Scratch};
use keygate::rules::RuleSet;

const STANDIN: &str = include_str!("../fixtures/bench/standin-rules.toml");
const SIZE: usize = 8 << 20;

/// Deterministic pseudo-random numbers (xorshift), so every run scans the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn token(&mut self, n: usize) -> String {
        const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(BASE62[(self.next() % 62) as usize]))
            .collect()
    }
}

/// Source-like lines with a synthetic key every 64 KiB.
fn code_text() -> Vec<u8> {
    let mut rng = Rng(0x5EED);
    let words = [
        "def", "return", "self", "import", "value", "config", "request", "items", "for", "in",
        "if", "else", "None", "True", "client", "response", "data", "result", "path", "json",
        "error", "logger", "user", "name", "index",
    ];
    let mut out = String::with_capacity(SIZE + 1024);
    let mut next_key = 64 << 10;
    while out.len() < SIZE {
        let indent = (rng.next() % 4) as usize * 4;
        out.push_str(&" ".repeat(indent));
        for _ in 0..(3 + rng.next() % 8) {
            out.push_str(rng.pick(&words));
            out.push_str(rng.pick(&[" ", "(", ".", ", ", " = ", "_"]));
        }
        out.push('\n');
        if out.len() >= next_key {
            let key = format!("sk-proj-{}T3BlbkFJ{}", rng.token(20), rng.token(20));
            out.push_str(&format!("OPENAI_API_KEY = \"{key}\"\n"));
            next_key += 64 << 10;
        }
    }
    out.truncate(SIZE);
    out.into_bytes()
}

/// Text thick with keyword hits that are rarely keys.
fn dense_text() -> Vec<u8> {
    let mut rng = Rng(0xD15E);
    let pieces = [
        "task-list ",
        "disk-usage ",
        "ask-me ",
        "aws_region = 'us-east-1'\n",
        "password = get_password()\n",
        "-----BEGIN CERTIFICATE-----\n",
        "xoxo ",
        "ghp_short ",
        "AKIA ",
        "api_key = None\n",
        "eyJhbGciOiJub25lIn0 ",
        "token_type ",
        "sk-not-a-key ",
        "secret_key = settings.SECRET\n",
        "mongodb://localhost:27017\n",
        "deepseek-chat ",
    ];
    let mut out = String::with_capacity(SIZE + 1024);
    while out.len() < SIZE {
        out.push_str(rng.pick(&pieces));
        // Keys stay rare: this input measures keyword hits, not findings.
        if rng.next() % 5000 == 0 {
            out.push_str(&format!("\nkey = 'sk-{}'\n", rng.token(40)));
        }
    }
    out.truncate(SIZE);
    out.into_bytes()
}

fn rule_sets() -> Vec<(&'static str, RuleSet)> {
    let builtin = RuleSet::builtin().expect("the built-in rules load");
    let mut full = RuleSet::builtin().expect("the built-in rules load");
    full.add_toml(STANDIN, "standin-rules.toml")
        .expect("the stand-in rules load");
    vec![("builtin", builtin), ("standin", full)]
}

fn engine(c: &mut Criterion) {
    let inputs = [("code", code_text()), ("dense", dense_text())];
    for (set_name, rules) in rule_sets() {
        let scanner = Scanner::new(rules).expect("the scanner builds");
        scanner.compile_all().expect("the regexes compile");
        let mut group = c.benchmark_group(format!("scan/{set_name}"));
        for (input_name, hay) in &inputs {
            group.throughput(Throughput::Bytes(hay.len() as u64));
            let mut scratch = Scratch::default();
            let mut out = Vec::new();
            group.bench_function(*input_name, |b| {
                b.iter(|| {
                    out.clear();
                    scanner.scan(black_box(hay), &mut scratch, &mut out);
                    out.len()
                })
            });
        }
        group.finish();
    }
}

fn keywords(c: &mut Criterion) {
    let (_, rules) = rule_sets().pop().expect("two rule sets");
    let mut list: Vec<Vec<u8>> = rules
        .rules()
        .iter()
        .flat_map(|r| r.syntax.keywords.iter())
        .map(|k| k.to_ascii_lowercase().into_bytes())
        .collect();
    list.sort();
    list.dedup();
    let matcher = KeywordMatcher::new(&list).expect("the matcher builds");
    let hay = code_text();
    let mut group = c.benchmark_group("keywords");
    group.throughput(Throughput::Bytes(hay.len() as u64));
    let mut hits = Hits::default();
    group.bench_function("standin/code", |b| {
        b.iter(|| {
            matcher.find_all(black_box(&hay), &mut hits);
            hits.as_slice().len()
        })
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let code = code_text();
    let mut encoded = Vec::with_capacity(SIZE);
    for (i, chunk) in code.chunks(4096).enumerate() {
        encoded.extend_from_slice(chunk);
        // A line of base64 (a Secret's value): "OPENAI_API_KEY=…" encoded.
        if i % 2 == 0 {
            encoded.extend_from_slice(
                b"\n  env: T1BFTkFJX0FQSV9LRVk9c2stdGVzdC1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n",
            );
        }
    }
    let mut group = c.benchmark_group("decode");
    let mut views = Vec::new();
    for (name, hay) in [("code", &code), ("code+base64", &encoded)] {
        group.throughput(Throughput::Bytes(hay.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                keygate::decode::decode(
                    black_box(hay),
                    keygate::decode::DEFAULT_DEPTH,
                    None,
                    &mut views,
                );
                views.len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = engine, keywords, decode
}
criterion_main!(benches);
