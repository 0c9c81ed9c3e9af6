//! The keyword prefilter: every occurrence of every keyword, ASCII-case-insensitively.
//!
//! `aho-corasick` builds the keywords' automaton (trie, failure links, the keywords
//! that end in each state); we only re-encode it for a faster walk. Keywords are few
//! (about a hundred) and short, so the automaton fits in a table of 16-bit
//! transitions over a compressed alphabet (one class per byte that some keyword uses,
//! case folded, and one for every other byte), filled by asking the crate's automaton
//! for each state's transition on one byte of each class. A DFA walk is a chain of
//! dependent table loads, so its speed is set by load latency, not by the work per
//! byte; [`KeywordMatcher`] therefore walks four parts of the input at once, four
//! independent chains that the processor overlaps, and numbers the states that end a
//! keyword from a power of two, so that one test of the four states OR-ed together
//! says whether any matched (three comparisons a byte took a fifth of a whole scan's
//! time). On the Python standard library this runs over twice as fast as
//! `aho-corasick`'s own DFA in overlapping mode. An
//! automaton too large for 16-bit state ids (thousands of custom keywords), or a few
//! keywords that `aho-corasick`'s rare-byte prefilter skips to faster, stay with
//! `aho-corasick`'s own search. The engine (`super`) turns hits into regex windows.

use aho_corasick::automaton::Automaton;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, MatchKind};

/// One keyword occurrence: the keyword's index and its byte range in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub end: usize,
    pub keyword: u32,
    pub start: usize,
}

/// Hits of one input, and the working memory that finds them, reused from one
/// input to the next.
#[derive(Debug, Default)]
pub struct Hits {
    all: Vec<Hit>,
    /// Hits of the second, third and fourth part of a split walk, appended to `all`
    /// in turn: parts are in order and each part's hits are sorted, so the whole
    /// is sorted without a sort.
    parts: [Vec<Hit>; 3],
}

impl Hits {
    pub fn as_slice(&self) -> &[Hit] {
        &self.all
    }
}

/// Finds every keyword occurrence, overlapping ones included.
#[derive(Debug)]
pub struct KeywordMatcher {
    imp: Imp,
}

#[derive(Debug)]
enum Imp {
    Dense(Box<DenseDfa>),
    Fallback(AhoCorasick),
}

impl KeywordMatcher {
    /// Builds the matcher; `keywords` must be lowercase ASCII, distinct and non-empty.
    pub fn new(keywords: &[Vec<u8>]) -> Result<KeywordMatcher, String> {
        if !has_rare_byte_cover(keywords) {
            if let Some(dfa) = DenseDfa::new(keywords) {
                return Ok(KeywordMatcher {
                    imp: Imp::Dense(Box::new(dfa)),
                });
            }
        }
        // A DFA runs several times faster than the NFA that the automatic choice
        // picks for this many case-insensitive patterns; Standard semantics allow the
        // overlapping search that keywords nested in one another need.
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(keywords)
            .map_err(|e| e.to_string())?;
        Ok(KeywordMatcher {
            imp: Imp::Fallback(automaton),
        })
    }

    /// Finds every hit in `hay`, sorted by end, then keyword.
    pub fn find_all(&self, hay: &[u8], hits: &mut Hits) {
        hits.all.clear();
        match &self.imp {
            Imp::Dense(dfa) => dfa.find_all(hay, hits),
            Imp::Fallback(automaton) => {
                hits.all
                    .extend(automaton.find_overlapping_iter(hay).map(|m| Hit {
                        end: m.end(),
                        keyword: m.pattern().as_u32(),
                        start: m.start(),
                    }));
            }
        }
    }
}

/// True when every keyword holds one of at most three bytes (a letter counts twice,
/// for its two cases). `aho-corasick` then skips from one such byte to the next with
/// `memchr`, which beats any DFA walk; a few keywords (a rule set cut down by a
/// config) can be covered so, the full rule set cannot.
fn has_rare_byte_cover(keywords: &[Vec<u8>]) -> bool {
    let mut bytes: Vec<u8> = keywords.iter().flatten().copied().collect();
    bytes.sort_unstable();
    bytes.dedup();
    if bytes.len() > 64 {
        // So many distinct bytes come only with many keywords: no cover.
        return false;
    }
    // Each keyword as the set of its bytes, one bit a distinct byte, so that a
    // candidate cover is checked with one AND a keyword.
    let bit = |b: u8| {
        1u64 << bytes
            .binary_search(&b)
            .expect("every keyword byte is listed")
    };
    let masks: Vec<u64> = keywords
        .iter()
        .map(|k| k.iter().fold(0, |mask, &b| mask | bit(b)))
        .collect();
    let covers = |set: u64| masks.iter().all(|m| m & set != 0);
    let weight = |i: usize| if bytes[i].is_ascii_alphabetic() { 2 } else { 1 };
    let n = bytes.len();
    (0..n).any(|i| {
        covers(1 << i)
            || (i + 1..n).any(|j| {
                (weight(i) + weight(j) <= 3 && covers(1 << i | 1 << j))
                    || (j + 1..n).any(|k| {
                        weight(i) + weight(j) + weight(k) <= 3 && covers(1 << i | 1 << j | 1 << k)
                    })
            })
    })
}

/// Transition table entries: every premultiplied state id (`< 2^16`) plus any class
/// (`< 256`) is a valid index, so indexing needs no bounds check.
const TABLE: usize = (1 << 16) + 256;

/// Inputs shorter than this are walked in one part: four parts cost four lead-ins.
const MIN_SPLIT: usize = 1024;

/// `aho-corasick`'s automaton of the keywords as a complete DFA, re-encoded with 16-bit premultiplied state
/// ids over the compressed alphabet.
///
/// States are numbered so that every state that ends a keyword comes after every
/// state that does not: one comparison per byte tells whether anything matched.
/// Where the automaton allows, the states that end a keyword start at a power of two,
/// [`DenseDfa::match_start`], above which no other id reaches: then the four chains'
/// states are OR-ed, and one test of that says whether any of them matched, in
/// place of three comparisons a byte.
struct DenseDfa {
    /// Byte to alphabet class; both cases of a letter share a class.
    class: [u8; 256],
    /// `trans[state + class]` is the next state, all ids premultiplied by `stride`.
    trans: Box<[u16; TABLE]>,
    stride: usize,
    /// The first (premultiplied) id of a state that ends some keyword.
    match_start: u16,
    /// Every id of a state that ends no keyword is below `match_start`, a power of
    /// two, and every other id below twice it: a state's bit `match_start` says
    /// whether it matched.
    split: bool,
    /// For each matching state, in id order, the keywords that end there.
    outputs: Vec<Box<[u32]>>,
    /// Length of each keyword.
    lens: Vec<usize>,
    /// Bytes a part's walk starts early so that it sees keywords crossing its start.
    lead: usize,
}

impl std::fmt::Debug for DenseDfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseDfa")
            .field("stride", &self.stride)
            .field("match_start", &self.match_start)
            .field("split", &self.split)
            .field("keywords", &self.lens.len())
            .finish_non_exhaustive()
    }
}

impl DenseDfa {
    /// `None` when the automaton does not fit 16-bit ids.
    fn new(keywords: &[Vec<u8>]) -> Option<DenseDfa> {
        // One class per distinct (lowercased) keyword byte, class 0 for every other
        // byte. With ASCII case folding, bytes that share a class take the same
        // transition from every state, so one representative byte asks the
        // automaton for the whole class.
        let mut class = [0u8; 256];
        let mut representative = vec![0u8];
        for &byte in keywords.iter().flatten() {
            let lower = byte.to_ascii_lowercase();
            if class[usize::from(lower)] == 0 {
                class[usize::from(lower)] = u8::try_from(representative.len()).ok()?;
                representative.push(lower);
            }
        }
        for byte in 0..=255u8 {
            class[usize::from(byte)] = class[usize::from(byte.to_ascii_lowercase())];
        }
        // Class 0 is read only for bytes that no keyword uses; if there is no such
        // byte its column is never read and byte 0 (whatever its class) fills it.
        representative[0] = (0..=255u8)
            .find(|&b| class[usize::from(b)] == 0)
            .unwrap_or(0);
        let stride = representative.len();
        // Each keyword ends in a state of its own and the start state ends none: a
        // bound that spares building an automaton that cannot fit (thousands of
        // custom keywords).
        if (keywords.len() + 1) * stride > 1 << 16 {
            return None;
        }

        // The crate's noncontiguous NFA, with its failure transitions followed by
        // `next_state`, is the complete DFA we need: the crate's `dfa::DFA`, compiled
        // from this NFA, takes several times as long to build, at every start of a
        // pre-commit hook, only to be copied into our table.
        let nfa = aho_corasick::nfa::noncontiguous::NFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(keywords)
            .ok()?;

        // The states reachable from the start state, breadth first; `next` holds
        // each state's transitions, one a class, as indexes into `states`, and
        // `ours[id]` the index of the crate's state `id`. The crate numbers its
        // states densely, so `ours` stays about as long as `states`.
        let start = nfa.start_state(Anchored::No).ok()?;
        let mut states = vec![start];
        let mut ours: Vec<Option<usize>> = vec![None; start.as_usize() + 1];
        ours[start.as_usize()] = Some(0);
        let mut next = Vec::new();
        let mut at = 0;
        while at < states.len() {
            let sid = states[at];
            debug_assert!(
                (0..=255u8).all(|b| nfa.next_state(Anchored::No, sid, b)
                    == nfa.next_state(
                        Anchored::No,
                        sid,
                        representative[usize::from(class[usize::from(b)])]
                    )),
                "bytes of one class take one transition"
            );
            for &byte in &representative {
                let to = nfa.next_state(Anchored::No, sid, byte);
                if to.as_usize() >= ours.len() {
                    ours.resize(to.as_usize() + 1, None);
                }
                next.push(*ours[to.as_usize()].get_or_insert_with(|| {
                    states.push(to);
                    states.len() - 1
                }));
            }
            if states.len() * stride > 1 << 16 {
                return None;
            }
            at += 1;
        }

        // Renumber: states that end no keyword first (the start state, which ends
        // none, stays 0), then the matching ones.
        let mut order: Vec<usize> = (0..states.len())
            .filter(|&s| !nfa.is_match(states[s]))
            .collect();
        let first_match = order.len();
        order.extend((0..states.len()).filter(|&s| nfa.is_match(states[s])));
        // The matching states from a power of two, when both parts fit below twice it.
        let below = first_match * stride;
        let above = (states.len() - first_match) * stride;
        let base = below.max(above).next_power_of_two();
        let split = 2 * base <= 1 << 16;
        let match_start = if split { base } else { below };
        let place = |new: usize| {
            if new < first_match {
                new * stride
            } else {
                match_start + (new - first_match) * stride
            }
        };
        let mut id = vec![0u16; states.len()];
        for (new, &old) in order.iter().enumerate() {
            id[old] = u16::try_from(place(new)).ok()?;
        }
        let mut trans: Box<[u16; TABLE]> = vec![0u16; TABLE]
            .into_boxed_slice()
            .try_into()
            .expect("the vector has TABLE entries");
        for (new, &old) in order.iter().enumerate() {
            for c in 0..stride {
                trans[place(new) + c] = id[next[old * stride + c]];
            }
        }

        // The keywords that end in each matching state, suffixes included, and each
        // keyword's length, as the automaton holds them.
        let mut lens = vec![0usize; nfa.patterns_len()];
        let outputs = order[first_match..]
            .iter()
            .map(|&s| {
                let sid = states[s];
                let mut ended: Vec<u32> = (0..nfa.match_len(sid))
                    .map(|k| {
                        let pattern = nfa.match_pattern(sid, k);
                        lens[pattern.as_usize()] = nfa.pattern_len(pattern);
                        pattern.as_u32()
                    })
                    .collect();
                ended.sort_unstable();
                ended.into_boxed_slice()
            })
            .collect();
        Some(DenseDfa {
            class,
            trans,
            stride,
            match_start: u16::try_from(match_start).ok()?,
            split,
            outputs,
            lens,
            lead: nfa.max_pattern_len().saturating_sub(1),
        })
    }

    #[inline(always)]
    fn step(&self, state: u16, byte: u8) -> u16 {
        self.trans[usize::from(state) + usize::from(self.class[usize::from(byte)])]
    }

    /// Records the keywords that end in `state` at byte `end`.
    #[inline(never)]
    fn emit(&self, state: u16, end: usize, out: &mut Vec<Hit>) {
        let index = usize::from(state - self.match_start) / self.stride;
        for &keyword in self.outputs[index].iter() {
            out.push(Hit {
                end,
                keyword,
                start: end - self.lens[keyword as usize],
            });
        }
    }

    fn find_all(&self, hay: &[u8], hits: &mut Hits) {
        if hay.len() < MIN_SPLIT {
            self.walk(hay, 0, 0, &mut hits.all);
            return;
        }
        let part = hay.len() / 4;
        // Each part after the first starts in the state its lead-in leaves, so a
        // keyword that crosses into it is found, and found once: by the part in
        // which it ends.
        let warm = |at: usize| {
            hay[at - self.lead.min(at)..at]
                .iter()
                .fold(0u16, |state, &byte| self.step(state, byte))
        };
        let states = [0u16, warm(part), warm(2 * part), warm(3 * part)];
        let (h0, rest) = hay.split_at(part);
        let (h1, rest) = rest.split_at(part);
        let (h2, rest) = rest.split_at(part);
        let (h3, tail) = rest.split_at(part);
        let [p1, p2, p3] = &mut hits.parts;
        let mut outs = [&mut hits.all, p1, p2, p3];
        for out in &mut outs[1..] {
            out.clear();
        }
        let parts = [h0, h1, h2, h3];
        let d = if self.split {
            self.walk4::<true>(parts, states, &mut outs)
        } else {
            self.walk4::<false>(parts, states, &mut outs)
        };
        self.walk(tail, 4 * part, d, outs[3]);
        let [all, p1, p2, p3] = outs;
        for part in [p1, p2, p3] {
            all.extend_from_slice(part);
        }
    }

    /// Walks the four equal `parts` at once from their `states`, each part's hits into
    /// its `outs`; returns the last part's final state. `SPLIT` is [`DenseDfa::split`].
    #[inline(always)]
    fn walk4<const SPLIT: bool>(
        &self,
        parts: [&[u8]; 4],
        states: [u16; 4],
        outs: &mut [&mut Vec<Hit>; 4],
    ) -> u16 {
        let [h0, h1, h2, h3] = parts;
        let [mut a, mut b, mut c, mut d] = states;
        let part = h0.len();
        let m = self.match_start;
        for i in 0..part {
            a = self.step(a, h0[i]);
            b = self.step(b, h1[i]);
            c = self.step(c, h2[i]);
            d = self.step(d, h3[i]);
            let any = if SPLIT {
                (a | b | c | d) >= m
            } else {
                a.max(b).max(c).max(d) >= m
            };
            if any {
                for (k, state) in [a, b, c, d].into_iter().enumerate() {
                    if state >= m {
                        self.emit(state, k * part + i + 1, outs[k]);
                    }
                }
            }
        }
        d
    }

    /// Walks `hay` (at `offset` in the whole input) from `state`.
    fn walk(&self, hay: &[u8], offset: usize, mut state: u16, out: &mut Vec<Hit>) {
        for (i, &byte) in hay.iter().enumerate() {
            state = self.step(state, byte);
            if state >= self.match_start {
                self.emit(state, offset + i + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(keywords: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .unwrap();
        let mut hits: Vec<Hit> = automaton
            .find_overlapping_iter(hay)
            .map(|m| Hit {
                end: m.end(),
                keyword: m.pattern().as_u32(),
                start: m.start(),
            })
            .collect();
        hits.sort_unstable();
        hits
    }

    fn keywords(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|k| k.as_bytes().to_vec()).collect()
    }

    /// Text built from keyword pieces and noise, so that keywords nest, overlap and
    /// cross every part boundary somewhere.
    fn text(seed: u64, len: usize, pieces: &[&str]) -> Vec<u8> {
        let mut state = seed | 1;
        let mut out = Vec::with_capacity(len + 32);
        while out.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state % 5 {
                0 | 1 => out.extend(pieces[(state >> 8) as usize % pieces.len()].as_bytes()),
                2 => out.push(b"\nAZaz09-_ "[(state >> 8) as usize % 10]),
                _ => out.extend((state >> 16).to_le_bytes().iter().take(3)),
            }
        }
        out
    }

    #[test]
    fn agrees_with_aho_corasick_on_nested_and_crossing_keywords() {
        let list = [
            "sk-",
            "sk-proj-",
            "sk-ant-",
            "proj",
            "ghp_",
            "aws",
            "akia",
            "-----begin",
            "xox",
            "xoxb-",
            "t3blbkfj",
            "hf_",
            "password",
        ];
        let kws = keywords(&list);
        let matcher = KeywordMatcher::new(&kws).unwrap();
        assert!(matches!(&matcher.imp, Imp::Dense(dfa) if dfa.split));
        let pieces = [
            "sk-proj-",
            "SK-ANT-",
            "ghp_",
            "AwS",
            "AKIA",
            "-----BEGIN",
            "xoxb-",
            "T3BlbkFJ",
            "Hf_",
            "PassWord",
            "sk",
            "-",
            "pro",
            "j",
            "xo",
            "x",
        ];
        for (seed, len) in [
            (1, 10),
            (2, 500),
            (3, 1023),
            (4, 1024),
            (5, 5000),
            (6, 70_001),
        ] {
            let hay = text(seed, len, &pieces);
            let mut hits = Hits::default();
            matcher.find_all(&hay, &mut hits);
            let hits = hits.as_slice();
            assert!(
                len < 500 || hits.len() > len / 100,
                "seed {seed}: too few hits"
            );
            assert_eq!(hits, reference(&kws, &hay), "seed {seed}");
        }
    }

    /// An automaton whose states that end no keyword fill more than half the id space
    /// keeps one contiguous numbering (no split) and finds the same hits.
    #[test]
    fn a_large_automaton_without_the_split_agrees_too() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut words: Vec<String> = Vec::new();
        while words.len() < 320 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word: String = (0..6)
                .map(|i| char::from(b'a' + (state >> (5 * i) & 31) as u8 % 26))
                .collect();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let list: Vec<&str> = words.iter().map(String::as_str).collect();
        let kws = keywords(&list);
        let matcher = KeywordMatcher::new(&kws).unwrap();
        assert!(
            matches!(&matcher.imp, Imp::Dense(dfa) if !dfa.split),
            "{:?}",
            matcher.imp
        );
        let pieces: Vec<&str> = list.iter().copied().chain(["a", "b", "ab"]).collect();
        for (seed, len) in [(7, 3000), (8, 70_001)] {
            let hay = text(seed, len, &pieces);
            let mut hits = Hits::default();
            matcher.find_all(&hay, &mut hits);
            assert!(
                hits.as_slice().len() > len / 100,
                "seed {seed}: too few hits"
            );
            assert_eq!(hits.as_slice(), reference(&kws, &hay), "seed {seed}");
        }
    }

    #[test]
    fn a_keyword_across_a_part_boundary_is_found_once() {
        let kws = keywords(&["-----begin"]);
        let matcher = KeywordMatcher::new(&kws).unwrap();
        for at in 1995..2005 {
            let mut hay = vec![b'.'; 8000];
            hay[at..at + 10].copy_from_slice(b"-----BEGIN");
            let mut hits = Hits::default();
            matcher.find_all(&hay, &mut hits);
            assert_eq!(
                hits.as_slice(),
                [Hit {
                    end: at + 10,
                    keyword: 0,
                    start: at
                }]
            );
        }
    }

    #[test]
    fn a_few_keywords_with_rare_bytes_go_to_aho_corasick() {
        let few = keywords(&["sk-", "sk-proj-", "t3blbkfj", "sk-admin-"]);
        assert!(has_rare_byte_cover(&few));
        assert!(matches!(
            KeywordMatcher::new(&few).unwrap().imp,
            Imp::Fallback(_)
        ));
        let many = keywords(&["sk-", "ghp_", "aws", "akia", "xox", "password"]);
        assert!(!has_rare_byte_cover(&many));
    }

    /// Few keywords (under the cheap bound on states) but long and unshared ones: the
    /// automaton outgrows 16-bit ids while it is walked, and the matcher falls back
    /// to `aho-corasick` with every hit still found.
    #[test]
    fn long_keywords_that_outgrow_the_table_fall_back_to_aho_corasick() {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let kws: Vec<Vec<u8>> = (0..300)
            .map(|_| {
                (0..40)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state >> 32) as usize % alphabet.len()]
                    })
                    .collect()
            })
            .collect();
        assert!((kws.len() + 1) * (alphabet.len() + 1) <= 1 << 16);
        assert!(!has_rare_byte_cover(&kws));
        assert!(DenseDfa::new(&kws).is_none());
        let matcher = KeywordMatcher::new(&kws).unwrap();
        assert!(matches!(matcher.imp, Imp::Fallback(_)));
        let mut hay = b"noise ".to_vec();
        hay.extend(kws[17].to_ascii_uppercase());
        hay.extend(b" noise");
        let mut hits = Hits::default();
        matcher.find_all(&hay, &mut hits);
        assert_eq!(hits.as_slice(), reference(&kws, &hay));
        assert!(hits
            .as_slice()
            .iter()
            .any(|h| h.keyword == 17 && h.start == 6));
    }

    #[test]
    fn too_many_keywords_fall_back_to_aho_corasick() {
        let kws: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("kw{i:05}x").into_bytes())
            .collect();
        let matcher = KeywordMatcher::new(&kws).unwrap();
        assert!(matches!(matcher.imp, Imp::Fallback(_)));
        let mut hits = Hits::default();
        matcher.find_all(b"a KW01234X b", &mut hits);
        assert_eq!(
            hits.as_slice(),
            [Hit {
                end: 10,
                keyword: 1234,
                start: 2
            }]
        );
    }
}
