//! Placeholder detection: secrets that are obviously not real keys.
//!
//! Documentation, templates and tests fill key-shaped slots with `xxxx`, `****`,
//! `<your-key>`, `1234567890abcdef`, runs of one character or words such as `EXAMPLE`.
//! Random keys almost never contain these (a six-long ascending run in base62 has odds
//! near one in a billion a position), so rejecting them costs no real findings.

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
];

/// Characters that never occur in a real key but do in templates.
const TEMPLATE_BYTES: &[u8] = b"<>{}*$%\xE2";

/// How long a run of one character, or of ascending or descending characters, must be
/// to mark a placeholder.
const RUN: usize = 6;

/// True when `secret` looks like a placeholder rather than a key.
pub fn is_placeholder(secret: &[u8]) -> bool {
    if secret.iter().any(|b| TEMPLATE_BYTES.contains(b)) || contains(secret, b"...") {
        return true;
    }
    if MARKER_WORDS.iter().any(|w| contains_ignore_case(secret, w)) {
        return true;
    }
    has_run(secret)
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
        ] {
            assert!(is_placeholder(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn random_keys_are_not_placeholders() {
        for s in [
            "sk-9fQ2xLr7TzW1mBv4KpY8sN3dHc6GaJ0eUoRi", // keygate:allow (synthetic key)
            "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",
            "ghp_R8mZ2qP5vX9kW3nB7tY1cL4hF6jD0sG2aQ8e",
            "AKIAZ3MRT7QW5NXKPLVB",
        ] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }
}
