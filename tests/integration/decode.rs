//! Decoding: keys that files hold encoded (base64, hex, percent, escapes, HTML
//! references, UTF-16 without a byte-order mark, and layers of them), found through
//! the real binary in every source, placed at the encoded text, fingerprinted as the
//! plain key, and never invented from data that only looks encoded.

use predicates::prelude::*;
use serde_json::Value;

use crate::util::keys::{self, base64};
use crate::util::TestEnv;

/// URL-safe base64 without padding.
fn base64url(bytes: &[u8]) -> String {
    base64(bytes)
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_string()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Every byte as `%XX`.
fn percent_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The findings of `keygate scan --format json --show-secrets ARGS`, with the exit
/// status.
fn scan(env: &TestEnv, args: &[&str]) -> (i32, Vec<Value>) {
    let out = env
        .keygate()
        .args(["scan", "--format", "json", "--show-secrets"])
        .args(args)
        .output()
        .expect("keygate runs");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().expect("an exit status"),
        doc["findings"].as_array().expect("findings").clone(),
    )
}

fn layers(finding: &Value) -> Vec<String> {
    finding["decoded"]
        .as_array()
        .map(|a| a.iter().map(|l| l.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// One file per encoding: each key is found under its own rule, with the plain key
/// as its secret and fingerprint, the layers named outermost first, and its place at
/// the first character of the encoded text.
#[test]
fn every_encoding_is_seen_through() {
    let env = TestEnv::new();
    let key = |seed| keys::openai_project(seed);
    let cases: Vec<(String, String, String, Vec<&str>)> = vec![
        // (file, content, the text the finding must start at, layers)
        {
            let k = key(101);
            let enc = base64(format!("OPENAI_API_KEY={k}\n").as_bytes());
            // The key is 15 bytes into the decoded text: 20 characters into the run.
            let at = enc[20..].to_string();
            (
                "k8s-secret.yaml".into(),
                format!("apiVersion: v1\nkind: Secret\ndata:\n  env: {enc}\n"),
                at,
                vec!["base64"],
            )
        },
        {
            let k = key(102);
            let enc = base64url(k.as_bytes());
            (
                "token.json".into(),
                format!("{{\"token\": \"{enc}\"}}\n"),
                enc,
                vec!["base64"],
            )
        },
        {
            let k = key(103);
            let enc = base64(format!("api:{k}").as_bytes());
            // `api:` is 4 bytes: the key starts in the run's sixth character.
            let at = enc[5..].to_string();
            (
                "request.http".into(),
                format!("GET / HTTP/1.1\nAuthorization: Basic {enc}\n"),
                at,
                vec!["base64"],
            )
        },
        {
            let k = key(104);
            let body =
                base64(format!("Hello,\n\nhere is the key for the demo: {k}\nThanks\n").as_bytes());
            let wrapped: Vec<&str> = body
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let text = format!(
                "Subject: key\nContent-Transfer-Encoding: base64\n\n{}\n",
                wrapped.join("\n")
            );
            // The key starts 38 bytes into the body: on its first line, and it runs on
            // into the second.
            ("mail.eml".into(), text, String::new(), vec!["base64"])
        },
        {
            let k = key(105);
            let enc = hex(&k);
            (
                "key.hex.txt".into(),
                format!("secret = \"{enc}\"\n"),
                enc,
                vec!["hex"],
            )
        },
        {
            let k = key(106);
            let enc = k.replacen("-", "%2D", 2);
            (
                "proxy.log".into(),
                format!("GET /v1/chat?api_key={enc}&stream=1 HTTP/1.1\n"),
                enc,
                vec!["percent"],
            )
        },
        {
            let k = key(107);
            let enc = percent_all(&k);
            (
                "url.txt".into(),
                format!("https://example.test/?k={enc}\n"),
                enc,
                vec!["percent"],
            )
        },
        {
            let k = key(108);
            let enc = k.replace('-', "\\u002d");
            (
                "config.json".into(),
                format!("{{\"openai\": \"{enc}\"}}\n"),
                enc,
                vec!["escape"],
            )
        },
        {
            let k = key(109);
            let enc: String = k.bytes().map(|b| format!("\\x{b:02x}")).collect();
            (
                "key.py".into(),
                format!("KEY = \"{enc}\"\n"),
                enc,
                vec!["escape"],
            )
        },
        {
            let k = key(110);
            let enc = k.replace('-', "&#45;");
            (
                "page.html".into(),
                format!("<input value=\"{enc}\">\n"),
                enc,
                vec!["html"],
            )
        },
        {
            let k = key(111);
            let enc: String = k.chars().map(|c| format!("&#x{:x};", c as u32)).collect();
            (
                "feed.xml".into(),
                format!("<key>{enc}</key>\n"),
                enc,
                vec!["html"],
            )
        },
        {
            let k = key(112);
            let enc =
                base64(format!("url=https://x.test/?key={}", k.replacen("-", "%2D", 2)).as_bytes());
            // `url=https://x.test/?key=` is 24 bytes: 32 characters of base64.
            let at = enc[32..].to_string();
            (
                "nested.txt".into(),
                format!("blob: {enc}\n"),
                at,
                vec!["base64", "percent"],
            )
        },
        {
            let k = key(113);
            let enc = base64(base64(k.as_bytes()).as_bytes());
            (
                "double.txt".into(),
                format!("v={enc}\n"),
                enc,
                vec!["base64", "base64"],
            )
        },
    ];
    for (file, content, _, _) in &cases {
        env.write(file, content);
    }
    let (code, found) = scan(&env, &["."]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), cases.len(), "{found:#?}");
    for (seed, (file, content, at, want_layers)) in (101..).zip(&cases) {
        let k = key(seed);
        let f = found
            .iter()
            .find(|f| f["path"] == format!("./{file}"))
            .unwrap_or_else(|| panic!("nothing found in {file}: {found:#?}"));
        assert_eq!(f["rule_id"], "openai.project-key", "{file}");
        assert_eq!(f["secret"], k.as_str(), "{file}");
        assert_eq!(layers(f), *want_layers, "{file}");
        assert_eq!(
            f["fingerprint"],
            keygate::finding::fingerprint("openai.project-key", &k),
            "{file}"
        );
        assert_eq!(f["secret_redacted"], keygate::finding::redact(&k), "{file}");
        if !at.is_empty() {
            let offset = content.find(at.as_str()).unwrap();
            let line = content[..offset].matches('\n').count() as u64 + 1;
            let column = (offset - content[..offset].rfind('\n').map_or(0, |p| p + 1)) as u64 + 1;
            assert_eq!(
                (f["line"].as_u64(), f["column"].as_u64()),
                (Some(line), Some(column)),
                "{file}"
            );
        }
    }
    let mail = found.iter().find(|f| f["path"] == "./mail.eml").unwrap();
    assert_eq!(
        mail["line"], 4,
        "the key starts on the first line of the body"
    );
    assert_eq!(mail["end_line"], 5, "and ends on the second");
}

/// Files that Windows tools write in UTF-16 without a byte-order mark, either way
/// round, are read as text: the key is found on its own line and column.
#[test]
fn utf16_without_a_bom_is_read() {
    let env = TestEnv::new();
    let k1 = keys::openai_project(120);
    let k2 = keys::openai_project(121);
    let text = |k: &str| format!("# settings\r\nOPENAI_API_KEY={k}\r\n");
    env.write(
        "le.env",
        text(&k1)
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>(),
    );
    env.write(
        "be.env",
        text(&k2)
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Vec<u8>>(),
    );
    let (code, found) = scan(&env, &["."]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 2, "{found:#?}");
    for (f, k) in found.iter().zip([&k2, &k1]) {
        assert_eq!(f["secret"], k.as_str());
        assert_eq!(
            (f["line"].as_u64(), f["column"].as_u64()),
            (Some(2), Some(16))
        );
        assert_eq!(layers(f), ["utf16"]);
    }
}

/// UTF-16 strings inside a binary file (an executable's resources, a registry
/// export) are decoded.
#[test]
fn utf16_strings_inside_binary_content_are_found() {
    let env = TestEnv::new();
    let k = keys::openai_project(122);
    let mut bytes = vec![0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    bytes.extend(format!("key={k}").encode_utf16().flat_map(u16::to_le_bytes));
    bytes.extend([0, 0, 0xFF, 0xFE, 0x10, 0x00, 0x00]);
    env.write("app.bin", bytes);
    let (code, found) = scan(&env, &["."]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["secret"], k.as_str());
    assert_eq!(layers(&found[0]), ["utf16"]);
}

/// Depth: three layers are looked through by default, a fourth only with a deeper
/// `--max-decode-depth`, and 0 turns decoding off.
#[test]
fn decode_depth_is_bounded_and_can_be_turned_off() {
    let env = TestEnv::new();
    let k = keys::openai_project(130);
    let mut three = k.clone();
    for _ in 0..3 {
        three = base64(three.as_bytes());
    }
    let four = base64(three.as_bytes());
    env.write("three.txt", format!("x = {three}\n"));
    env.write("four.txt", format!("x = {four}\n"));
    let (_, found) = scan(&env, &["."]);
    let paths: Vec<&str> = found.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["./three.txt"]);
    assert_eq!(layers(&found[0]), ["base64", "base64", "base64"]);
    let (_, found) = scan(&env, &["--max-decode-depth", "4", "."]);
    assert_eq!(found.len(), 2);
    let (code, found) = scan(&env, &["--max-decode-depth", "0", "."]);
    assert_eq!((code, found.len()), (0, 0));
}

/// Decoding invents nothing: random data, an image, hashes, encoded placeholders
/// and encoded text without keys give no finding.
#[test]
fn encoded_noise_and_placeholders_give_nothing() {
    let env = TestEnv::new();
    let random: Vec<u8> = (0u32..600)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa\0\0\0\x19tEXtSoftware";
    let placeholder = format!("sk-proj-{}T3BlbkFJ{}", "X".repeat(20), "X".repeat(20));
    env.write("random.txt", format!("data = \"{}\"\n", base64(&random)));
    env.write(
        "image.css",
        format!(
            ".a {{ background: url(data:image/png;base64,{}) }}\n",
            base64(png)
        ),
    );
    env.write("hashes.txt", "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nsha1 da39a3ee5e6b4b0d3255bfef95601890afd80709\n");
    env.write(
        "placeholder.yaml",
        format!(
            "key: {}\nkey2: {}\n",
            base64(placeholder.as_bytes()),
            hex(&placeholder)
        ),
    );
    env.write(
        "prose.txt",
        format!(
            "{}\n",
            base64(b"The quick brown fox jumps over the lazy dog, sk- is a prefix.")
        ),
    );
    env.write("code.js", "const GoogleCloudAiplatformV1beta1SecretEnvVar = require('x');\nconst u = \"%E2%9C%93 done\\u2713 &#10003;\";\n");
    let (code, found) = scan(&env, &["."]);
    assert_eq!((code, found.len()), (0, 0), "{found:#?}");
}

/// An encoded key is the same key to suppression: the plain key's baseline entry,
/// `[allow] secrets` and an inline allow on the encoded line all apply.
#[test]
fn suppression_treats_an_encoded_key_like_the_plain_one() {
    let env = TestEnv::new();
    let k = keys::openai_project(140);
    env.write("plain.env", format!("OPENAI_API_KEY={k}\n"));
    env.keygate()
        .args(["baseline", "--output", "baseline.json", "plain.env"])
        .assert()
        .success();
    std::fs::remove_file(env.path().join("plain.env")).unwrap();
    env.write("encoded.yaml", format!("env: {}\n", base64(k.as_bytes())));
    let (code, found) = scan(&env, &["--baseline", "baseline.json", "encoded.yaml"]);
    assert_eq!((code, found.len()), (0, 0));

    let k2 = keys::openai_project(141);
    env.write(
        "allowed.yaml",
        format!("env: {}  # keygate:allow\n", base64(k2.as_bytes())),
    );
    let (code, found) = scan(&env, &["allowed.yaml"]);
    assert_eq!((code, found.len()), (0, 0));

    let k3 = keys::openai_project(142);
    env.write("cfg.yaml", format!("env: {}\n", hex(&k3)));
    env.write("keygate.toml", format!("[allow]\nsecrets = [\"{k3}\"]\n"));
    let (code, found) = scan(&env, &["--config", "keygate.toml", "cfg.yaml"]);
    assert_eq!((code, found.len()), (0, 0));
}

/// Human output shows the layers and neither the key nor its encoded form; the
/// SARIF result carries the layers as a property.
#[test]
fn reports_name_the_layers_and_hide_the_encoded_key() {
    let env = TestEnv::new();
    let k = keys::openai_project(150);
    let enc = base64(k.as_bytes());
    env.write("a.yaml", format!("env: {enc}\n"));
    env.keygate()
        .args(["scan", "a.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("decoded: base64"))
        .stdout(predicate::str::contains(k.as_str()).not())
        .stdout(predicate::str::contains(&enc[..24]).not());
    let out = env
        .keygate()
        .args(["scan", "--format", "sarif", "a.yaml"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["properties"]["decoded"],
        serde_json::json!(["base64"])
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&enc[..24]));
}

/// Standard input, staged changes, ranges and histories decode the same way; staged
/// and range scans judge added lines on the encoded file.
#[test]
fn every_source_decodes() {
    let env = TestEnv::git_repo();
    let k = keys::openai_project(160);
    let enc = base64(format!("OPENAI_API_KEY={k}").as_bytes());

    env.keygate()
        .args(["scan", "--format", "json", "-"])
        .write_stdin(format!("x: {enc}\n"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "\"decoded\": [\n        \"base64\"\n      ]",
        ));

    env.write("values.yaml", "name: demo\n");
    let base = env.commit_all("base");
    env.write("values.yaml", format!("name: demo\nsecret: {enc}\n"));
    env.git(&["add", "values.yaml"]);
    let (code, found) = scan(&env, &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1);
    // `secret: ` is 8 characters; the key starts 15 bytes, 20 characters, into the run.
    assert_eq!(
        (found[0]["line"].as_u64(), found[0]["column"].as_u64()),
        (Some(2), Some(29))
    );
    assert_eq!(layers(&found[0]), ["base64"]);

    let head = env.commit_all("add a secret");
    let (code, found) = scan(&env, &["--range", &format!("{base}..{head}")]);
    assert_eq!(code, 1);
    assert_eq!(found[0]["commit"]["id"], head.as_str());
    assert_eq!(layers(&found[0]), ["base64"]);

    let (code, found) = scan(&env, &["--history"]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["secret"], k.as_str());
    assert_eq!(found[0]["path"], "values.yaml");

    // An edit elsewhere in the file leaves the encoded line out of the added lines.
    env.write("values.yaml", format!("name: demo2\nsecret: {enc}\n"));
    env.git(&["add", "values.yaml"]);
    let (code, found) = scan(&env, &["--staged"]);
    assert_eq!((code, found.len()), (0, 0));
}

/// A key that an escape cuts short for the plain scan is reported once, whole.
#[test]
fn a_key_cut_by_an_escape_is_reported_once_whole() {
    let env = TestEnv::new();
    let k = keys::openai_project(170);
    // Only the last dash of the key is escaped: the plain scan sees a shorter key.
    let dash = k.rfind('-').unwrap();
    let tail_escaped = format!("{}%2D{}", &k[..dash], &k[dash + 1..]);
    env.write("a.log", format!("key={tail_escaped} done\n"));
    let (_, found) = scan(&env, &["."]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["secret"], k.as_str());
}

/// A key deep inside a base64 run of hundreds of kilobytes (decoded in overlapping
/// windows) is found once, at its place on the line.
#[test]
fn a_key_deep_in_a_long_base64_run_is_found_once() {
    let env = TestEnv::new();
    let k = keys::openai_project(180);
    // Each key start a window boundary could cut: windows are 64 KiB of base64.
    for (i, filler) in [(0u64, 48_900usize), (1, 147_400), (2, 200_000)] {
        let text = format!(
            "{}\nOPENAI_API_KEY={k}\n{}",
            "# padding line\n".repeat(filler / 15),
            "x".repeat(5000)
        );
        let enc = base64(text.as_bytes());
        env.write(&format!("big{i}.b64"), format!("data: {enc}\n"));
    }
    let (_, found) = scan(&env, &["."]);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found
        .iter()
        .all(|f| f["secret"] == k.as_str() && f["line"] == 1));
}
