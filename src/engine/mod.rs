//! The engine: finds rule matches in a byte slice.
//!
//! One Aho-Corasick automaton ([`keywords`]) holds every keyword of every rule. A
//! scan runs it once over the input; each keyword hit opens a small window (the hit's line, bounded by
//! the rule's `lookbehind` and `max_len`) in which that keyword's rules run their
//! regexes. Windows of one rule that touch are merged, so a regex never sees a byte
//! twice, and rules whose keywords never occur cost nothing, not even their compile.
//! Each candidate is judged on its longest reading (a key is one run of token bytes,
//! whichever alternative of the regex happened to match first), then passes the
//! boundary, entropy, placeholder and identifier filters; a match that a more precise
//! rule also found yields to it.
//!
//! The [`Scanner`] is shared by every worker thread; each thread owns a [`Scratch`].
//! What comes next: sources turn matches into findings with locations
//! (`crate::finding`).

pub mod entropy;
pub mod keywords;
pub mod placeholder;
pub mod words;

use std::ops::Range;

use keywords::{Hits, KeywordMatcher};

use crate::rules::{RuleError, RuleSet};

/// A secret found by one rule, in byte offsets of the scanned slice.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// Index of the rule in the scanner's [`RuleSet`].
    pub rule: usize,
    /// The whole regex match.
    pub span: Range<usize>,
    /// The secret inside it.
    pub secret: Range<usize>,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f64,
}

/// Why a scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot build the keyword automaton: {0}")]
    Automaton(String),
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// A region of the input in which one rule's regex runs.
#[derive(Clone, Copy, Debug)]
struct Window {
    rule: usize,
    start: usize,
    end: usize,
}

/// Per-thread working memory, reused from one scan to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Per rule, the window still open (not yet closed by a later, distant hit).
    open: Vec<Option<Window>>,
    windows: Vec<Window>,
    hits: Hits,
    triggers: Vec<TriggerHit>,
}

impl Scratch {
    /// The triggers the last scan met (see [`Scanner::with_triggers`]), in order.
    pub fn triggers(&self) -> &[TriggerHit] {
        &self.triggers
    }
}

/// Where the keyword walk met one of the extra patterns a scanner was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriggerHit {
    /// Index of the pattern in the list given to [`Scanner::with_triggers`].
    pub trigger: u32,
    /// Where it starts; it matched ASCII-case-insensitively.
    pub start: usize,
}

/// The shared, thread-safe matcher built from a [`RuleSet`].
#[derive(Debug)]
pub struct Scanner {
    rules: RuleSet,
    keywords: KeywordMatcher,
    /// For each automaton pattern, the rules that listed that keyword.
    keyword_rules: Vec<Vec<usize>>,
    /// For each automaton pattern, the extra patterns ([`Scanner::with_triggers`])
    /// it stands for.
    keyword_triggers: Vec<Vec<u32>>,
    has_triggers: bool,
    /// For each rule, the rules it yields to (`yields_to`), as indices.
    yields: Vec<Vec<usize>>,
}

impl Scanner {
    /// Builds the keyword automaton. Regexes are compiled later, by the first scan
    /// that needs each one.
    pub fn new(rules: RuleSet) -> Result<Scanner, EngineError> {
        Scanner::with_triggers(rules, &[])
    }

    /// Like [`Scanner::new`], with extra patterns that belong to no rule: the walk
    /// that finds the keywords finds them too, in the same pass, and reports them
    /// in [`Scratch::triggers`]. The decoding stage gives the places where a
    /// disguised key may stand, so that finding them costs no pass of its own.
    pub fn with_triggers(rules: RuleSet, triggers: &[Vec<u8>]) -> Result<Scanner, EngineError> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (index, rule) in rules.rules().iter().enumerate() {
            for keyword in &rule.syntax.keywords {
                let keyword = keyword.to_ascii_lowercase().into_bytes();
                match keywords.iter().position(|k| *k == keyword) {
                    Some(p) => {
                        if !keyword_rules[p].contains(&index) {
                            keyword_rules[p].push(index);
                        }
                    }
                    None => {
                        keywords.push(keyword);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
        }
        let mut keyword_triggers: Vec<Vec<u32>> = vec![Vec::new(); keywords.len()];
        for (index, trigger) in triggers.iter().enumerate() {
            let trigger = trigger.to_ascii_lowercase();
            let index = index as u32;
            match keywords.iter().position(|k| *k == trigger) {
                Some(p) => keyword_triggers[p].push(index),
                None => {
                    keywords.push(trigger);
                    keyword_rules.push(Vec::new());
                    keyword_triggers.push(vec![index]);
                }
            }
        }
        let keywords = KeywordMatcher::new(&keywords).map_err(EngineError::Automaton)?;
        // A rule named in `yields_to` may be disabled: then there is nothing to yield to.
        let yields = rules
            .rules()
            .iter()
            .map(|rule| {
                rule.syntax
                    .yields_to
                    .iter()
                    .filter_map(|id| rules.rules().iter().position(|r| r.id() == id))
                    .collect()
            })
            .collect();
        Ok(Scanner {
            rules,
            keywords,
            keyword_rules,
            keyword_triggers,
            has_triggers: !triggers.is_empty(),
            yields,
        })
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// True when a match of rule `rule` gives way to an overlapping match of rule
    /// `other`: a generic rule to any specific one, and a rule to those in its
    /// `yields_to`.
    pub fn yields_to(&self, rule: usize, other: usize) -> bool {
        let generic = |r: usize| self.rules.get(r).syntax.generic;
        (generic(rule) && !generic(other)) || self.yields[rule].contains(&other)
    }

    /// True when built [`Scanner::with_triggers`] extra patterns.
    pub fn has_triggers(&self) -> bool {
        self.has_triggers
    }

    /// Compiles every rule's regex now, so that a broken custom rule is reported
    /// before a scan starts rather than skipped during it.
    pub fn compile_all(&self) -> Result<(), EngineError> {
        for rule in self.rules.rules() {
            rule.regex()?;
        }
        Ok(())
    }

    /// Finds every secret in `hay`, appending to `out` in order of position.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch, out: &mut Vec<Match>) {
        let first = out.len();
        self.collect_windows(hay, scratch);
        for window in &scratch.windows {
            self.run_rule(hay, *window, out);
        }
        yield_matches(self, &mut out[first..]);
        let mut kept = first;
        for i in first..out.len() {
            if out[i].rule != usize::MAX {
                out.swap(kept, i);
                kept += 1;
            }
        }
        out.truncate(kept);
        out[first..].sort_by(|a, b| {
            (a.span.start, a.rule, a.span.end).cmp(&(b.span.start, b.rule, b.span.end))
        });
    }

    /// Runs the automaton and turns keyword hits into merged windows, per rule.
    fn collect_windows(&self, hay: &[u8], scratch: &mut Scratch) {
        scratch.windows.clear();
        scratch.triggers.clear();
        self.keywords.find_all(hay, &mut scratch.hits);
        // Most inputs hold no rule's keyword at all (a trigger of the decoding stage,
        // such as a number, is none): they cost no per-rule work.
        let mut windows_open = false;
        for hit in scratch.hits.as_slice() {
            for &trigger in &self.keyword_triggers[hit.keyword as usize] {
                scratch.triggers.push(TriggerHit {
                    trigger,
                    start: hit.start,
                });
            }
            let rules = &self.keyword_rules[hit.keyword as usize];
            if !rules.is_empty() && !windows_open {
                scratch.open.clear();
                scratch.open.resize(self.rules.len(), None);
                windows_open = true;
            }
            for &rule_index in rules {
                let rule = self.rules.get(rule_index);
                let slot = &mut scratch.open[rule_index];
                if let Some(open) = slot {
                    if covers(hay, open, hit.start, hit.end, rule) {
                        continue;
                    }
                }
                let window = Window {
                    rule: rule_index,
                    start: window_start(hay, hit.start, rule.lookbehind()),
                    end: window_end(hay, hit.end, rule.max_len(), rule.syntax.multiline),
                };
                match slot {
                    Some(open) if window.start <= open.end => {
                        open.start = open.start.min(window.start);
                        open.end = open.end.max(window.end);
                    }
                    slot => {
                        if let Some(closed) = slot.replace(window) {
                            scratch.windows.push(closed);
                        }
                    }
                }
            }
        }
        if windows_open {
            scratch.windows.extend(scratch.open.iter().flatten());
        }
    }

    /// Runs one rule's regex over one window and keeps the candidates that pass the
    /// rule's filters.
    fn run_rule(&self, hay: &[u8], window: Window, out: &mut Vec<Match>) {
        let rule = self.rules.get(window.rule);
        // A regex that does not compile was reported when the rule set was checked
        // (`compile_all`, `rules check`); here it can only be skipped.
        let Ok(regex) = rule.regex() else { return };
        let group = rule.secret_group(regex);
        let slice = &hay[window.start..window.end];
        // End of the last secret taken: a longer reading may reach past the point
        // where the regex resumes, and what it covered is not found twice.
        let mut taken = 0;
        for caps in regex.captures_iter(slice) {
            let Some(whole) = caps.get(0) else { continue };
            let secret = group.and_then(|g| caps.get(g)).unwrap_or(whole);
            let span = window.start + whole.start()..window.start + whole.end();
            let mut secret = window.start + secret.start()..window.start + secret.end();
            if secret.is_empty() || secret.start < taken {
                continue;
            }
            if span.start == secret.start {
                if let Some(longer) = longest_reading(rule, group, hay, &secret, window.end) {
                    secret = longer;
                }
            }
            if rule.syntax.boundary_check
                && !(right_boundary(hay, secret.end)
                    && (rule.syntax.distinctive_prefix || left_boundary(hay, secret.start)))
            {
                continue;
            }
            let bytes = &hay[secret.clone()];
            let entropy = entropy::shannon(bytes);
            if rule.syntax.min_entropy.is_some_and(|floor| entropy < floor) {
                continue;
            }
            if rule.syntax.placeholder_check && placeholder::is_placeholder(bytes) {
                continue;
            }
            if rule.syntax.identifier_check && words::is_identifier(bytes) {
                continue;
            }
            taken = secret.end;
            out.push(Match {
                rule: window.rule,
                span,
                secret,
                entropy,
            });
        }
    }
}

/// True when the window of a keyword at `start..end` would lie inside `open`, so
/// that a run of hits on one line (a dense file) costs no line-end searches.
///
/// Its start cannot come before `start - lookbehind`; its end cannot pass
/// `end + max_len`, nor, for a single-line rule, the line break that ends `open`.
fn covers(hay: &[u8], open: &Window, start: usize, end: usize, rule: &crate::rules::Rule) -> bool {
    if start.saturating_sub(rule.lookbehind()) < open.start || end > open.end {
        return false;
    }
    end.saturating_add(rule.max_len()) <= open.end
        || (!rule.syntax.multiline && hay.get(open.end) == Some(&b'\n'))
}

/// Start of the window for a keyword at `at`: `lookbehind` bytes back, but not past
/// the start of the keyword's line.
fn window_start(hay: &[u8], at: usize, lookbehind: usize) -> usize {
    let floor = at.saturating_sub(lookbehind);
    match memchr::memrchr(b'\n', &hay[floor..at]) {
        Some(newline) => floor + newline + 1,
        None => floor,
    }
}

/// End of the window for a keyword ending at `at`: `max_len` bytes on, but for a
/// single-line rule not past the end of the keyword's line.
fn window_end(hay: &[u8], at: usize, max_len: usize, multiline: bool) -> usize {
    let ceiling = at.saturating_add(max_len).min(hay.len());
    if multiline {
        return ceiling;
    }
    match memchr::memchr(b'\n', &hay[at..ceiling]) {
        Some(newline) => at + newline,
        None => ceiling,
    }
}

/// Bytes a key's run is made of: letters, digits, `-` and `_`, the alphabet of
/// every prefixed key's body.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The longest reading of a match that opens where its secret opens: the secret
/// stretched over the run of token bytes that follows it, when the rule's regex, read
/// any way it can be, covers that whole run (`\A…\z`). A regex reports the first
/// reading it finds: `sk-proj-` + 74 + `T3BlbkFJ` + 75 matches a 74/74 alternative
/// that then fails its boundary, though a longer alternative covers the whole key.
/// Judging the run, not the first reading, keeps such keys. `None` when the run is no
/// longer than the secret or no reading covers it (the secret is then judged as found).
fn longest_reading(
    rule: &crate::rules::Rule,
    group: Option<usize>,
    hay: &[u8],
    secret: &Range<usize>,
    limit: usize,
) -> Option<Range<usize>> {
    let run = hay[secret.end..limit]
        .iter()
        .take_while(|&&b| is_token_byte(b))
        .count();
    if run == 0 {
        return None;
    }
    let whole = rule.whole_regex().ok()?;
    let caps = whole.captures(&hay[secret.start..secret.end + run])?;
    let longer = group.and_then(|g| caps.get(g)).or_else(|| caps.get(0))?;
    Some(secret.start + longer.start()..secret.start + longer.end())
}

/// Drops matches that yield to another match overlapping them, so that a key is
/// reported once, under its most precise name: a generic rule's match yields to any
/// other rule's, and a rule's match yields to those of the rules in its `yields_to`.
/// Dropped matches get `rule = usize::MAX`.
fn yield_matches(scanner: &Scanner, matches: &mut [Match]) {
    let is_generic = |rule: usize| scanner.rules.get(rule).syntax.generic;
    let yielding = |rule: usize| is_generic(rule) || !scanner.yields[rule].is_empty();
    if !matches.iter().any(|m| yielding(m.rule)) {
        return;
    }
    // Only specific rules are yielded to (`yields_to` names specific rules), so a
    // file thick with generic matches costs no comparisons.
    let found: Vec<(usize, Range<usize>)> = matches
        .iter()
        .filter(|m| !is_generic(m.rule))
        .map(|m| (m.rule, m.secret.clone()))
        .collect();
    for m in matches.iter_mut() {
        if !yielding(m.rule) {
            continue;
        }
        if found.iter().any(|(other, s)| {
            *other != m.rule
                && scanner.yields_to(m.rule, *other)
                && s.start < m.secret.end
                && m.secret.start < s.end
        }) {
            m.rule = usize::MAX;
        }
    }
}

/// True when the secret is not glued to word characters on either side.
///
/// Before the secret, a letter that ends an escape sequence still counts as a
/// boundary: `\n`, `\t`, `\r` in JSON strings (notebooks), `\u0022`, `\x27` and URL
/// escapes such as `%3D` put a letter or digit right before a key.
pub fn on_token_boundary(hay: &[u8], secret: &Range<usize>) -> bool {
    left_boundary(hay, secret.start) && right_boundary(hay, secret.end)
}

/// True when the byte at `end`, just past a secret, is not a letter or digit.
fn right_boundary(hay: &[u8], end: usize) -> bool {
    hay.get(end).is_none_or(|b| !b.is_ascii_alphanumeric())
}

/// True when the secret starting at `start` is not glued to a letter or digit before
/// it, or only to the last byte of an escape sequence (see [`on_token_boundary`]).
fn left_boundary(hay: &[u8], start: usize) -> bool {
    start == 0 || !hay[start - 1].is_ascii_alphanumeric() || escape_ends_at(&hay[..start])
}

/// True when `before` ends with an escape sequence whose last byte is a letter or
/// digit: `\n`, `\t`, `\r`, `\b`, `\f`, `%3D`, `\x27`, `\u0022`, or a terminal colour
/// code (`ESC[32m`, also written `\u001b[32m` in notebook output).
fn escape_ends_at(before: &[u8]) -> bool {
    let n = before.len();
    let hex = |r: Range<usize>| before[r].iter().all(u8::is_ascii_hexdigit);
    (n >= 2 && before[n - 2] == b'\\' && matches!(before[n - 1], b'n' | b't' | b'r' | b'b' | b'f'))
        || (n >= 3 && before[n - 3] == b'%' && hex(n - 2..n))
        || (n >= 4 && &before[n - 4..n - 2] == b"\\x" && hex(n - 2..n))
        || (n >= 6 && &before[n - 6..n - 4] == b"\\u" && hex(n - 4..n))
        || ends_with_colour_code(before)
}

/// True when `before` ends with an ANSI colour code, `ESC [ digits ; ... m`, where ESC
/// is the byte itself or one of its escaped spellings.
fn ends_with_colour_code(before: &[u8]) -> bool {
    let Some(rest) = before.strip_suffix(b"m") else {
        return false;
    };
    let params = rest
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit() || **b == b';')
        .count();
    let Some(rest) = rest[..rest.len() - params].strip_suffix(b"[") else {
        return false;
    };
    rest.ends_with(b"\x1b")
        || [&b"\\u001b"[..], b"\\x1b", b"\\033", b"\\e"]
            .iter()
            .any(|esc| {
                rest.len() >= esc.len() && rest[rest.len() - esc.len()..].eq_ignore_ascii_case(esc)
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(text: &str, secret: &str) -> bool {
        let start = text.find(secret).unwrap();
        on_token_boundary(text.as_bytes(), &(start..start + secret.len()))
    }

    #[test]
    fn boundaries_hold_in_every_container() {
        let key = "sk-KEY";
        for text in [
            "sk-KEY",
            "x = \"sk-KEY\"",
            "x='sk-KEY'",
            "`sk-KEY`",
            "KEY=sk-KEY\r\n",
            "key: sk-KEY",
            "a,sk-KEY,b",
            "https://h/p?key=sk-KEY&x=1",
            "\"OPENAI=sk-KEY\\n\"",
            "\"line\\nsk-KEY\\n\"",
            "\\tsk-KEY",
            "%3Dsk-KEY",
            "\\u0022sk-KEY\\u0022",
            "\\x27sk-KEY",
            "\x1b[32msk-KEY\x1b[0m",
            "\"text\": \"\\u001b[1;31msk-KEY\\u001b[0m\"",
            "echo -e \"\\033[0msk-KEY\"",
        ] {
            assert!(boundary(text, key), "{text}");
        }
    }

    #[test]
    fn glued_tokens_are_not_on_a_boundary() {
        assert!(!boundary("tasksk-KEY", "sk-KEY"));
        assert!(!boundary("sk-KEYX", "sk-KEY"));
        assert!(!boundary("nsk-KEY", "sk-KEY"));
        assert!(!boundary("%zzsk-KEY", "sk-KEY"));
        assert!(!boundary("[32msk-KEY", "sk-KEY"));
        assert!(!boundary("\x1b[32xsk-KEY", "sk-KEY"));
    }

    /// The built-in rules with the decoding stage's triggers walk the fast way: a
    /// dense table whose matching states are told by one bit (`keywords::DenseDfa`).
    /// A rule or trigger that outgrew it would slow every scan by a fifth.
    #[test]
    fn builtin_keywords_take_the_fast_walk() {
        let triggers = crate::decode::trigger_patterns();
        let scanner = Scanner::with_triggers(RuleSet::builtin().unwrap(), &triggers).unwrap();
        let shape = format!("{:?}", scanner.keywords);
        assert!(
            shape.contains("DenseDfa") && shape.contains("split: true"),
            "{shape}"
        );
    }

    /// Keys among thousands of keyword hits on the same lines are all found, so
    /// the hits that an open window already covers are skipped without loss.
    #[test]
    fn keys_among_dense_hits_are_all_found() {
        let scanner = Scanner::new(RuleSet::builtin().unwrap()).unwrap();
        // Synthetic keys, built here so that no source line holds one whole.
        let keys = [
            format!("sk-{}", random(1, 48)),
            format!("sk-{}", random(2, 32)),
            format!("sk-proj-{}T3BlbkFJ{}", random(3, 20), random(4, 20)),
        ];
        let mut text = String::new();
        for key in &keys {
            text.push_str(&"task-list disk-usage ".repeat(300));
            text.push_str(&format!(" {key} "));
            text.push_str(&"ask-me ".repeat(200));
            text.push('\n');
            text.push_str(&"sk- ".repeat(50));
        }
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        scanner.scan(text.as_bytes(), &mut scratch, &mut out);
        let found: Vec<&str> = out.iter().map(|m| &text[m.secret.clone()]).collect();
        assert_eq!(found, keys);
    }

    /// Synthetic base62 text, deterministic per seed.
    fn random(seed: u64, n: usize) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(alphabet[(state % 62) as usize])
            })
            .collect()
    }

    /// `(rule id, secret)` of every match in `text`.
    fn matches(text: &str) -> Vec<(String, String)> {
        let scanner = Scanner::new(RuleSet::builtin().unwrap()).unwrap();
        let mut out = Vec::new();
        scanner.scan(text.as_bytes(), &mut Scratch::default(), &mut out);
        out.iter()
            .map(|m| {
                (
                    scanner.rules().get(m.rule).id().to_string(),
                    text[m.secret.clone()].to_string(),
                )
            })
            .collect()
    }

    /// A half one character longer than the 74/74 alternative: the regex's first
    /// reading fails its boundary, the whole run is still a key of the rule.
    #[test]
    fn a_key_is_judged_on_its_longest_run() {
        let key = format!("sk-proj-{}-T3BlbkFJ{}_x", random(1, 73), random(2, 73));
        assert_eq!(
            matches(&format!("K=\"{key}\"")),
            [("openai.project-key".to_string(), key)]
        );
    }

    /// Distinctive prefixes are found glued to a name; plain `sk-` keys are not.
    #[test]
    fn only_distinctive_prefixes_may_be_glued() {
        let key = format!("sk-proj-{}T3BlbkFJ{}", random(3, 20), random(4, 20));
        assert_eq!(
            matches(&format!("OPENAI_API_KEY{key}")),
            [("openai.project-key".to_string(), key)]
        );
        assert!(matches(&format!("tasksk-{}", random(5, 48))).is_empty());
    }

    /// A key that several rules read is reported once, by the most precise: the
    /// generic rule and the prefix-less body rule yield.
    #[test]
    fn matches_yield_to_the_rules_they_name() {
        let key = format!("sk-{}T3BlbkFJ{}", random(6, 20), random(7, 20));
        assert_eq!(
            matches(&format!("KEY={key}")),
            [("openai.legacy-key".to_string(), key.clone())]
        );
        let body = &key[3..];
        assert_eq!(
            matches(&format!("KEY=\"sk-\" + \"{body}\"")),
            [("openai.key-body".to_string(), body.to_string())]
        );
    }

    #[test]
    fn windows_stop_at_line_ends_for_single_line_rules() {
        let hay = b"first line\nkey = sk-abc\nthird";
        let at = 17;
        assert_eq!(window_start(hay, at, 256), 11);
        assert_eq!(window_end(hay, at + 3, 1024, false), 23);
        assert_eq!(window_end(hay, at + 3, 1024, true), hay.len());
        assert_eq!(window_start(hay, at, 2), at - 2);
    }
}
