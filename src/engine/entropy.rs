//! Shannon entropy of a secret, in bits per byte.
//!
//! Random keys score high (hex near 4, base62 near 5 to 6 for the lengths keys have);
//! words, slugs and repeated characters score low. Rules set a floor per kind.

/// Shannon entropy of `bytes` in bits per byte; 0 for an empty slice.
pub fn shannon(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::shannon;

    #[test]
    fn constant_input_has_no_entropy() {
        assert_eq!(shannon(b""), 0.0);
        assert_eq!(shannon(b"aaaaaaaa"), 0.0);
    }

    #[test]
    fn two_symbols_evenly_give_one_bit() {
        assert!((shannon(b"abababab") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn all_sixteen_hex_digits_give_four_bits() {
        assert!((shannon(b"0123456789abcdef") - 4.0).abs() < 1e-12);
    }

    #[test]
    fn words_score_below_random_keys() {
        let slug = shannon(b"sk-learn-contrib-imbalanced-learn");
        let key = shannon(b"sk-9fQ2xLr7TzW1mBv4KpY8sN3dHc6GaJ0eUoRi"); // keygate:allow (synthetic key)
        assert!(slug < 4.0, "{slug}");
        assert!(key > 4.5, "{key}");
    }
}
