//! Key shapes that real code bends, through the real binary (issue 8, item 5): a half
//! one character longer than the usual form, a key glued to its variable name, an
//! OpenAI key body without its prefix, `-` and `_` in a generic `sk-` body, PGP and
//! PuTTY private keys and a service-account JSON; and the names built from words that
//! context rules must not take for keys. Then a custom rule's own examples in the
//! config file that defines it (item 6), for folder, staged and range scans.

use serde_json::Value;

use crate::suppress::scan_json;
use crate::util::{keys, TestEnv};

/// `n` URL-safe characters with a `-` and a `_` inside, as long OpenAI keys have.
fn url_safe(seed: u64, n: usize) -> String {
    let body = keys::random(seed, n - 3, keys::BASE62);
    format!("{}-{}_{}", &body[..5], &body[5..n - 5], &body[n - 5..])
}

/// Every finding as `(rule_id, line, column, secret)`; run with `--show-secrets`.
fn found(doc: &Value) -> Vec<(String, u64, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["column"].as_u64().unwrap_or_default(),
                f["secret"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Scans one file with `--show-secrets`; returns its findings.
fn scan_file(env: &TestEnv, name: &str, contents: &str) -> Vec<(String, u64, u64, String)> {
    env.write(name, contents);
    let (_, doc) = scan_json(env, &["--no-git", "--show-secrets", name]);
    found(&doc)
}

/// A key one character longer in its second half than the 74/74 form is found whole:
/// the key is judged on its run, not on the alternative the regex tried first. Glued
/// to its variable name it is found too, at the prefix.
#[test]
fn a_longer_half_and_a_glued_name_still_find_the_whole_key() {
    let env = TestEnv::new();
    let key = format!("sk-proj-{}T3BlbkFJ{}", url_safe(1, 74), url_safe(2, 75));
    let hits = scan_file(&env, "a.env", &format!("# x\nOPENAI_API_KEY={key}\n"));
    assert_eq!(hits, [("openai.project-key".into(), 2, 16, key.clone())]);
    let hits = scan_file(&env, "b.env", &format!("OPENAI_API_KEY{key}\n"));
    assert_eq!(hits, [("openai.project-key".into(), 1, 15, key.clone())]);
    // Distinctive prefixes of other providers, glued the same way.
    let gh = format!("ghp_{}", keys::random(3, 36, keys::BASE62));
    let glpat = format!("glpat-{}", keys::random(4, 20, keys::BASE62));
    let hits = scan_file(&env, "c.sh", &format!("GITHUB_TOKEN{gh}\nGITLAB{glpat}\n"));
    assert_eq!(
        hits,
        [
            ("github.classic-token".into(), 1, 13, gh),
            ("gitlab.personal-access-token".into(), 2, 7, glpat)
        ]
    );
}

/// A plain `sk-` prefix ends words (`task-`, `disk-`): glued, a key without the
/// OpenAI marker is not reported; with the marker it is.
#[test]
fn a_plain_sk_prefix_keeps_its_left_boundary() {
    let env = TestEnv::new();
    let generic = format!("sk-{}", keys::random(5, 48, keys::BASE62));
    let hits = scan_file(&env, "a.txt", &format!("tasksk-{}\n", &generic[3..]));
    assert!(hits.is_empty(), "{hits:?}");
    let hits = scan_file(&env, "b.txt", &format!("API_KEY={generic}\n"));
    assert_eq!(hits, [("generic.sk-key".into(), 1, 9, generic)]);
    let legacy = keys::openai_legacy(6);
    let hits = scan_file(&env, "c.txt", &format!("OPENAI_API_KEY{legacy}\n"));
    assert_eq!(hits, [("openai.legacy-key".into(), 1, 15, legacy)]);
}

/// OpenAI key bodies without their prefix are keys: pasted bare, in JSON; joined in
/// code to `"sk-"`, they are read joined, as the whole key. Base64 text and JWTs that
/// happen to hold the marker are not.
#[test]
fn openai_key_bodies_without_their_prefix() {
    let env = TestEnv::new();
    let short = format!(
        "{}T3BlbkFJ{}",
        keys::random(7, 20, keys::BASE62),
        keys::random(8, 20, keys::BASE62)
    );
    let long = format!("{}T3BlbkFJ{}", url_safe(9, 74), url_safe(10, 74));
    let text = format!(
        "key = \"sk-\" + \"{short}\"\nKEY=f\"sk-proj-{{'{long}'}}\"\n{{\"body\": \"{short}\"}}\n"
    );
    let hits = scan_file(&env, "a.py", &text);
    assert_eq!(
        hits,
        [
            // `"sk-" + body` joins into the whole key (decoded: join).
            ("openai.legacy-key".into(), 1, 8, format!("sk-{short}")),
            ("openai.key-body".into(), 2, 17, long.clone()),
            ("openai.key-body".into(), 3, 11, short.clone()),
        ]
    );
    // With its prefix the key is the prefixed rule's alone.
    let hits = scan_file(&env, "b.env", &format!("K=sk-proj-{long}\n"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, "openai.project-key");
    let hits = scan_file(
        &env,
        "c.txt",
        &format!("data:;base64,eyJ2IjoxfQ+/{short}+/x\njwt eyJhbGciOiJIUzI1NiJ9.{short}.c2ln\n"),
    );
    assert!(hits.is_empty(), "{hits:?}");
}

/// The generic `sk-` rule takes `-` and `_` in a random body, not kebab-case words nor
/// names built from words.
#[test]
fn generic_sk_keys_with_dashes_and_underscores() {
    let env = TestEnv::new();
    let key = format!("sk-{}", url_safe(11, 44));
    let hits = scan_file(&env, "a.env", &format!("LITELLM_KEY={key}\n"));
    assert_eq!(hits, [("generic.sk-key".into(), 1, 13, key)]);
    let hits = scan_file(
        &env,
        "b.html",
        "<div class=\"sk-form-control-input-wrapper-large-primary\">\n\
         API_KEY=sk-My-Widget-Component-Factory-For-Dashboard\n\
         {\"sk-ThisIsTheDefaultSchedulerConfigurationName\": 1}\n",
    );
    assert!(hits.is_empty(), "{hits:?}");
}

/// Context rules do not take a CamelCase type name for a key: the googleapis type
/// definitions' `GoogleCloudAiplatformV1beta1SecretEnvVar` beside `secretAccessor` is
/// not an AWS secret key; a random key in its place is.
#[test]
fn names_built_from_words_are_not_context_keys() {
    let env = TestEnv::new();
    let snippet = |value: &str| {
        format!(
            "    /**\n     * The service account needs roles/secretmanager.secretAccessor.\n     */\n    secretEnv?: Schema${value}[];\n"
        )
    };
    let hits = scan_file(
        &env,
        "index.d.ts",
        &snippet("GoogleCloudAiplatformV1beta1SecretEnvVar"),
    );
    assert!(hits.is_empty(), "{hits:?}");
    let key = keys::random(12, 40, keys::BASE62);
    let hits = scan_file(&env, "real.d.ts", &snippet(&key));
    assert_eq!(hits, [("aws.secret-access-key".into(), 4, 24, key)]);
}

/// Standard base64 of `bytes`, padded.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let word = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 lines of 64 characters, as PEM and armor write them.
fn wrap64(bytes: &[u8]) -> String {
    let b64 = base64(bytes);
    b64.as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pseudo-random bytes from `seed`.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    keys::random(seed, n, keys::BASE62).into_bytes()
}

/// PGP private key blocks (a keyring like git's test keyring: two blocks with armor
/// headers), PuTTY key files of both versions, and a Google service-account file are
/// found at their first line; a public key block is not.
#[test]
fn pgp_putty_and_service_account_private_keys() {
    let env = TestEnv::new();
    let pgp = |seed| {
        let mut packet = vec![0x95, 0x01, 0xbb, 0x04];
        packet.extend(bytes(seed, 600));
        format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v1\n\n{}\n=aEiU\n-----END PGP PRIVATE KEY BLOCK-----\n",
            wrap64(&packet)
        )
    };
    let public = format!(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{}\n=aEiU\n-----END PGP PUBLIC KEY BLOCK-----\n",
        wrap64(&[vec![0x99, 0x01, 0x0d], bytes(15, 300)].concat())
    );
    let first = pgp(13);
    let second_line = 1 + first.lines().count() as u64;
    let hits = scan_file(&env, "keyring.gpg", &format!("{first}{}{public}", pgp(14)));
    let places: Vec<(&str, u64)> = hits.iter().map(|h| (h.0.as_str(), h.1)).collect();
    assert_eq!(
        places,
        [("private-key.pgp", 1), ("private-key.pgp", second_line)]
    );

    let ppk = |version: u32, seed| {
        let public = wrap64(&[b"\0\0\0\x07ssh-rsa".to_vec(), bytes(seed, 270)].concat());
        let private = wrap64(&[b"\0\0\x01\0".to_vec(), bytes(seed + 1, 600)].concat());
        format!(
            "PuTTY-User-Key-File-{version}: ssh-rsa\nEncryption: none\nComment: rsa-key-20240102\n\
             Public-Lines: {}\n{public}\nPrivate-Lines: {}\n{private}\nPrivate-MAC: {}\n",
            public.lines().count(),
            private.lines().count(),
            keys::random(seed + 2, 40, keys::HEX)
        )
    };
    for version in [2, 3] {
        let hits = scan_file(&env, &format!("id{version}.ppk"), &ppk(version, 16));
        let places: Vec<(&str, u64, u64)> = hits.iter().map(|h| (h.0.as_str(), h.1, h.2)).collect();
        assert_eq!(places, [("private-key.putty", 1, 1)], "version {version}");
    }

    let der = [
        vec![0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00],
        bytes(17, 900),
    ]
    .concat();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        wrap64(&der)
    );
    let account = serde_json::json!({
        "type": "service_account",
        "project_id": "demo",
        "private_key": pem,
        "client_email": "ci@demo.iam.gserviceaccount.com",
    });
    let text = serde_json::to_string_pretty(&account).expect("JSON serialises");
    let line = 1 + text
        .lines()
        .position(|l| l.contains("BEGIN"))
        .expect("a key line") as u64;
    let hits = scan_file(&env, "sa.json", &text);
    let places: Vec<(&str, u64)> = hits.iter().map(|h| (h.0.as_str(), h.1)).collect();
    assert_eq!(places, [("private-key.pkcs8", line)]);
}

/// A config with a custom rule whose examples hold a whole token, and a negative
/// example that a built-in rule would report.
fn config_with_examples(token: &str, generic: &str) -> String {
    format!(
        r#"[[rules]]
id = "acme.token"
name = "Acme API token"
description = "A token of the Acme API."
keywords = ["acme_"]
regex = '''acme_[A-Za-z0-9]{{32}}'''
severity = "high"
examples = ["ACME_TOKEN={token}", "token: \"{token}\""]
negative_examples = ["acme_short", "not ours: {generic}"]
"#
    )
}

/// A custom rule's own examples are not findings in the config file that defines
/// them, in a folder scan, a staged commit and the history; the same token elsewhere
/// is.
#[test]
fn custom_rule_examples_in_their_config_are_not_findings() {
    let env = TestEnv::git_repo();
    let token = format!("acme_{}", keys::random(18, 32, keys::BASE62));
    let generic = format!("sk-{}", keys::random(19, 40, keys::BASE62));
    env.write(".keygate.toml", config_with_examples(&token, &generic));
    let (code, doc) = scan_json(&env, &["."]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["suppressed"], 3, "{doc}");

    env.git(&["add", ".keygate.toml"]);
    let (code, doc) = scan_json(&env, &["--staged"]);
    assert_eq!(code, 0, "{doc}");
    env.git(&["commit", "-q", "-m", "Acme rule"]);
    let (code, doc) = scan_json(&env, &["--history"]);
    assert_eq!(code, 0, "{doc}");

    // Another token in the config, outside the examples, is reported, and so is the
    // example's token in another file.
    let other = format!("acme_{}", keys::random(22, 32, keys::BASE62));
    env.write(
        ".keygate.toml",
        format!(
            "{}# old token: {other}\n",
            config_with_examples(&token, &generic)
        ),
    );
    env.write("app.env", format!("ACME={token}\n"));
    let (code, doc) = scan_json(&env, &["--show-secrets", "."]);
    assert_eq!(code, 1);
    let paths: Vec<(String, u64)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("./.keygate.toml".to_string(), 10),
            ("./app.env".to_string(), 1)
        ]
    );
}

/// In a merge check the examples are the base commit's: a change to a config whose
/// rule the base already has passes; a change that adds a rule cannot allow the
/// key-shaped text of its own new examples.
#[test]
fn range_scans_allow_the_examples_of_the_base_config() {
    let env = TestEnv::git_repo();
    let token = format!("acme_{}", keys::random(20, 32, keys::BASE62));
    let generic = format!("sk-{}", keys::random(21, 40, keys::BASE62));
    env.write("README.md", "x\n");
    let empty = env.commit_all("start");
    env.write(".keygate.toml", config_with_examples(&token, &generic));
    let with_rule = env.commit_all("Acme rule");
    // The base knows no custom rule: the new negative example, which the built-in
    // generic rule finds, is reported.
    let (code, doc) = scan_json(&env, &["--range", &format!("{empty}..{with_rule}")]);
    assert_eq!(code, 1, "{doc}");
    // A later change that rewrites the examples' lines, judged by a base that has the
    // rule, passes.
    let rewritten = config_with_examples(&token, &generic)
        .replace("examples = [\"", "examples = [\n  \"")
        .replace("\"]\n", "\",\n]\n");
    env.write(".keygate.toml", &rewritten);
    let touched = env.commit_all("touch");
    let (code, doc) = scan_json(&env, &["--range", &format!("{with_rule}..{touched}")]);
    assert_eq!(code, 0, "{doc}");
}
