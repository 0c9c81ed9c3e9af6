//! Placeholder detection: secrets that are obviously not real keys.
//!
//! Documentation, templates and tests fill key-shaped slots with `xxxx`, `****`,
//! `<your-key>`, `1234567890abcdef`, runs of one character or words such as `EXAMPLE`.
//! Random keys almost never contain these (a six-long ascending run in base62 has odds
//! near one in a billion a position), so rejecting them costs no real findings.
//!
//! A few keys that providers print in their own documentation (Stripe's test keys)
//! are known by heart and never reported.
//!
//! Two shapes get their own treatment. Identifiers made only of lower-case words or
//! numbers joined by `-` or `_` (`sk-learn-contrib-imbalanced-learn`) are slugs, never
//! keys. PEM blocks (`-----BEGIN ...`) and PuTTY key files are long, and their DER,
//! OpenSSH or SSH wire encoding has runs of `A` of its own, so in a block only the
//! marker words count (`EXAMPLE`, `REDACTED`, eight `x`) and the template characters
//! are left to the rule's regex.

/// Words that mark a documented or template value, matched case-insensitively.
const MARKER_WORDS: &[&[u8]] = &[
    b"example",
    b"placeholder",
    b"your_",
    b"your-",
    b"yourkey",
    b"yourapi",
    b"yoursecret",
    b"yourtoken",
    b"redacted",
    b"replace",
    b"insert",
    b"dummy",
    b"changeme",
    b"notreal",
    b"not_real",
    b"not-real",
    b"fakekey",
    b"fake_",
    b"_fake",
    b"-fake",
    b"fake-",
    b"xxxx",
    b"testing",
    b"sample",
    b"thisis",
    b"foobar",
    b"lorem",
    b"quickbrown",
    b"qwerty",
    b"asdfgh",
    b"zxcvbn",
];

/// Characters that never occur in a real key but do in templates.
const TEMPLATE_BYTES: &[u8] = b"<>{}*$%\xE2";

/// How long a run of one character, or of ascending or descending characters, must be
/// to mark a placeholder.
const RUN: usize = 6;

/// Marker words inside a PEM block. Short words such as `xxxx` or `dummy` are left out:
/// in a key of several thousand base64 characters they occur by chance.
const BLOCK_MARKER_WORDS: &[&[u8]] = &[
    b"example",
    b"placeholder",
    b"redacted",
    b"changeme",
    b"notreal",
    b"fakekey",
    b"xxxxxxxx",
];

/// Keys printed in providers' own documentation, copied into countless tutorials and
/// READMEs. They work only against sandboxes, if at all, and are public by design.
const DOCUMENTED_KEYS: &[&[u8]] = &[
    b"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    b"sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    b"sk_test_26PHem9AhJZvU623DfE1x4sd",
    b"ghp_16C7e42F292c6912E7710c838347Ae178B4a",
];

/// True when `secret` looks like a placeholder rather than a key.
pub fn is_placeholder(secret: &[u8]) -> bool {
    if DOCUMENTED_KEYS.contains(&secret) {
        return true;
    }
    if secret.starts_with(b"-----BEGIN") || secret.starts_with(b"PuTTY-User-Key-File-") {
        return BLOCK_MARKER_WORDS
            .iter()
            .any(|w| contains_ignore_case(secret, w));
    }
    if is_slug(secret) {
        return true;
    }
    if secret.iter().any(|b| TEMPLATE_BYTES.contains(b)) || contains(secret, b"...") {
        return true;
    }
    if MARKER_WORDS.iter().any(|w| contains_ignore_case(secret, w)) {
        return true;
    }
    has_run(secret) || mostly_ascending(secret) || repetitive(secret)
}

/// Shortest secret, in byte pairs, that [`repetitive`] judges.
const REPETITIVE_MIN_PAIRS: usize = 16;

/// A short pattern typed over and over (`a1a1a1a1b2b2b2b2`, `TESTKEY0TESTKEY0`): fewer
/// than half of its neighbouring byte pairs are distinct. Random keys keep more than
/// two thirds distinct even in hex.
fn repetitive(secret: &[u8]) -> bool {
    if secret.len() <= REPETITIVE_MIN_PAIRS {
        return false;
    }
    let mut pairs: Vec<[u8; 2]> = secret.windows(2).map(|w| [w[0], w[1]]).collect();
    let total = pairs.len();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.len() * 2 < total
}

/// Shortest secret, in letter and digit pairs, that [`mostly_ascending`] judges.
const ASCENDING_MIN_PAIRS: usize = 12;

/// Hand-typed sequences that dodge the run test by restarting every few characters,
/// `abc123def456ghi789` or `a1b2c3d4e5f6`: two in five neighbours (or neighbours but
/// one) ascend. In a random key one pair in 36 does.
fn mostly_ascending(secret: &[u8]) -> bool {
    let ranks: Vec<u8> = secret.iter().filter_map(|&b| rank(b)).collect();
    if ranks.len() <= ASCENDING_MIN_PAIRS {
        return false;
    }
    let ascending = |step: usize| {
        let pairs = ranks.len() - step;
        let up = (0..pairs)
            .filter(|&i| ranks[i + step] == ranks[i] + 1)
            .count();
        up * 5 >= pairs * 2
    };
    ascending(1) || ascending(2)
}

/// Words or numbers joined by `-` or `_`, with at least one joint: a name
/// (`sk-learn-contrib-imbalanced-learn`, `task-list-item-checkbox`, `sk-MY_SECRET_KEY`),
/// not a key. A random key with a `-` in it has a segment that mixes cases or letters
/// and digits.
fn is_slug(secret: &[u8]) -> bool {
    let word = |s: &[u8]| {
        !s.is_empty()
            && (s.iter().all(u8::is_ascii_lowercase)
                || s.iter().all(u8::is_ascii_uppercase)
                || s.iter().all(u8::is_ascii_digit))
    };
    secret.iter().any(|&b| b == b'-' || b == b'_')
        && secret.split(|&b| b == b'-' || b == b'_').all(word)
}

/// A run of `RUN` equal characters, or of `RUN` characters each one step above (or
/// below) the last in `0-9a-z` order, case-insensitively: `aaaaaa`, `123456`,
/// `89abcd`, `fedcba`.
fn has_run(secret: &[u8]) -> bool {
    let (mut same, mut up, mut down) = (1usize, 1usize, 1usize);
    for pair in secret.windows(2) {
        let (a, b) = (rank(pair[0]), rank(pair[1]));
        same = if pair[0] == pair[1] { same + 1 } else { 1 };
        up = match (a, b) {
            (Some(a), Some(b)) if b == a + 1 => up + 1,
            _ => 1,
        };
        down = match (a, b) {
            (Some(a), Some(b)) if a == b + 1 => down + 1,
            _ => 1,
        };
        if same >= RUN || up >= RUN || down >= RUN {
            return true;
        }
    }
    false
}

/// Position of an alphanumeric byte in `0-9a-z`, case-insensitively.
fn rank(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'z' => Some(b - b'a' + 10),
        b'A'..=b'Z' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    #[test]
    fn template_values_are_placeholders() {
        for s in [
            "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sk-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "sk-****************************************",
            "sk-<your-openai-key-goes-here-0123456789>",
            "sk-${OPENAI_API_KEY}",
            "sk-1234567890abcdef1234567890abcdef",
            "sk-abcdefghijklmnopqrstuvwxyz0123456789",
            "sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-your_api_key_here_9f8e7d6c5b4a39281",
            "sk-proj-REPLACE_WITH_YOUR_KEY_8c1d2e3f4a5b",
            "sk-9fQ2xLr7...TzW1mBv4KpY8",
            "sk-ant-api03-…AA",
            "sk-learn-contrib-imbalanced-learn",
            "task-list-item-checkbox-container-wrapper-element",
            "hf_config_attribute_mapping_2024_table",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "sk-proj-abc123def456ghi789jkl012mno345pqr678stu901vwx234",
            "sk-1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r",
            "sk-abcd1234efgh5678ijkl9012mnop3456qrst",
            "sk-proj-qwertyuiopasdfghjklzxcvbnmQWERTYUIOP",
            "sk-proj-MY_SECRET_OPENAI_KEY",
            "sk-proj-a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4e5e5e5e5f6f6f6f6",
            "sk-proj-TESTKEY0TESTKEY0TESTKEY0TESTKEY0TESTKEY0TESTKEY0",
            "ghp_ThisIsNotARealTokenJustForTestingOk1",
            "sk-TheQuickBrownFoxJumpsOverTheLazyDogAgainAndAgain",
        ] {
            assert!(is_placeholder(s.as_bytes()), "{s}");
        }
    }

    /// Synthetic keys, never valid anywhere; the allow comments keep the repository's own
    /// scan clean.
    #[test]
    fn random_keys_are_not_placeholders() {
        for s in [
            "sk-9fQ2xLr7TzW1mBv4KpY8sN3dHc6GaJ0eUoRi", // keygate:allow
            "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", // keygate:allow
            "ghp_R8mZ2qP5vX9kW3nB7tY1cL4hF6jD0sG2aQ8e", // keygate:allow
            "AKIAZ3MRT7QW5NXKPLVB",                     // keygate:allow
            "sk-4caf4941d4072014b3ce107f80e222f8",      // keygate:allow
            "xoxp-8402748193-2047391846-5520193847-9f3a1c7e5b2d4f6a8c0e1b3d5f7a9c2e", // keygate:allow
            "glpat-Xb7_kQ9zR2mWv4Lp8sTn", // keygate:allow
            "sk-ant-api03-q8Zr_Tk2-Wm5",
        ] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn pem_blocks_are_judged_by_marker_words_only() {
        // DER and OpenSSH encodings hold long runs of `A`: not a placeholder in a block.
        let real = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
        assert!(!is_placeholder(real.as_bytes()));
        // Four `x` occur by chance in a long base64 body; eight do not.
        let chance = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9xXxXw0BAQEFAASC\n-----END PRIVATE KEY-----";
        assert!(!is_placeholder(chance.as_bytes()));
        for s in [
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAEXAMPLEKEYBODY\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----\nMIIxxxxxxxxxxxxxxxxxxxx\n-----END PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----\nMHcREDACTED\n-----END EC PRIVATE KEY-----",
        ] {
            assert!(is_placeholder(s.as_bytes()), "{s}");
        }
    }
}
