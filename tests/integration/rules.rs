//! Every built-in rule through the real binary.
//!
//! `keygate rules check` must pass. Then the secret of every rule example is written
//! into some fifty kinds of container (quotes, backticks, CSV, URL queries, notebook
//! `\n` escapes, XML, CRLF, Dockerfiles, SQL, Terraform, Go, ...), one file each, and
//! one folder scan must find every key with its own rule at the right line and column.
//! Placeholder and look-alike files must yield nothing at all.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::util::{keys, TestEnv};

/// The names a container writes beside a secret. Rules anchored by context (DeepSeek,
/// Mistral, AWS secret keys, ...) need the provider's name on the key's line, as real
/// configuration has it.
struct Names {
    /// `DEEPSEEK_API_KEY`
    upper: String,
    /// `deepseek_api_key`
    lower: String,
    /// `deepseek-api-key`
    kebab: String,
    /// `DeepseekApiKey`
    camel: String,
}

impl Names {
    fn for_rule(id: &str) -> Names {
        let upper = if id == "aws.secret-access-key" {
            "AWS_SECRET_ACCESS_KEY".to_string()
        } else {
            let provider = id.split('.').next().expect("an id has a provider");
            format!("{}_API_KEY", provider.replace('-', "_").to_uppercase())
        };
        let lower = upper.to_lowercase();
        let kebab = lower.replace('_', "-");
        let camel = lower
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Names {
            upper,
            lower,
            kebab,
            camel,
        }
    }
}

/// One way a secret sits in a file: a name, a file extension and a builder.
type Container = (&'static str, &'static str, fn(&Names, &str) -> String);

/// Containers for a one-line secret.
const LINE_CONTAINERS: &[Container] = &[
    ("env", "env", |n, s| {
        format!("# settings\n{}={s}\nDEBUG=1\n", n.upper)
    }),
    ("env-double-quotes", "env", |n, s| {
        format!("{}=\"{s}\"\n", n.upper)
    }),
    ("env-single-quotes", "env", |n, s| {
        format!("{}='{s}'\n", n.upper)
    }),
    ("env-crlf", "env", |n, s| {
        format!("A=1\r\n{}={s}\r\nB=2\r\n", n.upper)
    }),
    ("env-eof-no-newline", "env", |n, s| {
        format!("A=1\n{}={s}", n.upper)
    }),
    ("shell-export", "sh", |n, s| {
        format!("#!/bin/sh\nexport {}={s}\n", n.upper)
    }),
    ("shell-export-quoted", "sh", |n, s| {
        format!("export {}=\"{s}\"\n", n.upper)
    }),
    ("js-backticks", "js", |n, s| {
        format!("const {} = `{s}`;\n", n.camel)
    }),
    ("js-object", "js", |n, s| {
        format!("const cfg = {{ {}: \"{s}\", retries: 3 }};\n", n.camel)
    }),
    ("python-dict", "py", |n, s| {
        format!("config = {{'{}': '{s}', 'timeout': 30}}\n", n.lower)
    }),
    ("python-raw-string", "py", |n, s| {
        format!("{} = r\"{s}\"\n", n.upper)
    }),
    ("python-fstring-bearer", "py", |n, s| {
        format!(
            "headers = {{\"Authorization\": f\"Bearer {s}\"}}  # {}\n",
            n.lower
        )
    }),
    ("yaml", "yaml", |n, s| {
        format!("service:\n  {}: {s}\n  port: 80\n", n.lower)
    }),
    ("yaml-quoted", "yml", |n, s| {
        format!("{}: \"{s}\"\n", n.lower)
    }),
    ("docker-compose", "yml", |n, s| {
        format!(
            "services:\n  app:\n    environment:\n      - {}={s}\n",
            n.upper
        )
    }),
    ("kubernetes-secret", "yaml", |n, s| {
        format!("kind: Secret\nstringData:\n  {}: '{s}'\n", n.lower)
    }),
    ("json", "json", |n, s| {
        format!("{{\n  \"{}\": \"{s}\"\n}}\n", n.upper)
    }),
    ("json-minified", "json", |n, s| {
        format!("{{\"a\":1,\"{}\":\"{s}\",\"b\":[2]}}", n.lower)
    }),
    ("json-unicode-escapes", "json", |n, s| {
        format!(
            "{{\"cfg\": \"{{\\u0022{}\\u0022: \\u0022{s}\\u0022}}\"}}\n",
            n.lower
        )
    }),
    ("notebook-source", "ipynb", |n, s| {
        format!(
            "{{\"cells\": [{{\"source\": [\"import os\\n\", \"os.environ[\\\"{}\\\"] = \\\"{s}\\\"\\n\"]}}]}}\n",
            n.upper
        )
    }),
    ("notebook-escape-before-key", "ipynb", |n, s| {
        format!(
            "{{\"outputs\": [{{\"text\": \"{}:\\n{s}\\n\"}}]}}\n",
            n.upper
        )
    }),
    ("terminal-colours", "log", |n, s| {
        format!("\x1b[32m{}\x1b[0m=\x1b[1m{s}\x1b[0m\n", n.upper)
    }),
    ("notebook-colour-output", "ipynb", |n, s| {
        format!(
            "{{\"text\": [\"\\u001b[32m{}\\u001b[0m \\u001b[1;31m{s}\\u001b[0m\\n\"]}}\n",
            n.upper
        )
    }),
    ("csv", "csv", |n, s| {
        format!("name,value,env\n{},{s},prod\n", n.upper)
    }),
    ("tsv", "tsv", |n, s| {
        format!("name\tvalue\n{}\t{s}\n", n.upper)
    }),
    ("url-query-middle", "txt", |n, s| {
        format!(
            "GET https://api.example.com/v1/chat?{}={s}&model=m1\n",
            n.lower
        )
    }),
    ("url-query-end", "txt", |n, s| {
        format!("curl 'https://api.example.com/v1?mode=1&{}={s}'\n", n.lower)
    }),
    ("url-encoded-form", "txt", |n, s| {
        format!("body=cfg%26{}%3D{s}%26x%3D1\n", n.lower)
    }),
    ("xml-attribute", "xml", |n, s| {
        format!(
            "<appSettings>\n  <add key=\"{}\" value=\"{s}\"/>\n</appSettings>\n",
            n.upper
        )
    }),
    ("xml-element", "xml", |n, s| {
        format!("<config><{0}>{s}</{0}></config>\n", n.lower)
    }),
    ("html-input", "html", |n, s| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{s}\">\n",
            n.lower
        )
    }),
    ("html-entities", "html", |n, s| {
        format!(
            "<div data-cfg=\"{{&quot;{}&quot;:&quot;{s}&quot;}}\"></div>\n",
            n.lower
        )
    }),
    ("markdown-code-span", "md", |n, s| {
        format!("Set `{}` to `{s}` before running.\n", n.upper)
    }),
    ("markdown-fence", "md", |n, s| {
        format!("# Setup\n\n```bash\nexport {}={s}\n```\n", n.upper)
    }),
    ("markdown-table", "md", |n, s| {
        format!("| name | value |\n|---|---|\n| {} |{s}|\n", n.upper)
    }),
    ("sql", "sql", |n, s| {
        format!(
            "INSERT INTO secrets (name, value) VALUES ('{}', '{s}');\n",
            n.upper
        )
    }),
    ("properties", "properties", |n, s| {
        format!("app.{}={s}\n", n.lower.replace('_', "."))
    }),
    ("properties-colon", "properties", |n, s| {
        format!("{} : {s}\n", n.lower)
    }),
    ("ini", "ini", |n, s| {
        format!("[default]\n{} = {s}\n", n.lower)
    }),
    ("toml", "toml", |n, s| {
        format!("[provider]\n{} = \"{s}\"\n", n.lower)
    }),
    ("terraform", "tf", |n, s| {
        format!("variable \"{}\" {{\n  default = \"{s}\"\n}}\n", n.lower)
    }),
    ("dockerfile-env", "Dockerfile", |n, s| {
        format!("FROM python:3.12\nENV {}={s}\n", n.upper)
    }),
    ("dockerfile-env-space", "Dockerfile", |n, s| {
        format!("FROM node:22\nENV {} {s}\n", n.upper)
    }),
    ("go-struct", "go", |n, s| {
        format!("var cfg = Config{{\n\t{}: \"{s}\",\n}}\n", n.camel)
    }),
    ("rust-const", "rs", |n, s| {
        format!("const {}: &str = \"{s}\";\n", n.upper)
    }),
    ("java", "java", |n, s| {
        format!("  private static final String {} = \"{s}\";\n", n.upper)
    }),
    ("php", "php", |n, s| {
        format!("<?php\ndefine('{}', '{s}');\n", n.upper)
    }),
    ("ruby", "rb", |n, s| {
        format!("ENV['{}'] ||= '{s}'\n", n.upper)
    }),
    ("powershell", "ps1", |n, s| {
        format!("$env:{} = \"{s}\"\n", n.upper)
    }),
    ("windows-set", "cmd", |n, s| {
        format!("set {}={s}\r\n", n.upper)
    }),
    ("cli-flag", "sh", |n, s| {
        format!("mytool --{} {s} --verbose\n", n.kebab)
    }),
    ("function-call", "py", |n, s| {
        format!("client = Client({s})  # {}\n", n.lower)
    }),
    ("non-ascii-before", "md", |n, s| {
        format!("Clé « {} » — valeur : «{s}»\n", n.upper)
    }),
    ("log-line", "log", |n, s| {
        format!("2024-01-02 03:04:05 INFO loaded {} key={s} ok\n", n.lower)
    }),
];

/// Containers for a secret that spans lines (private keys).
const BLOCK_CONTAINERS: &[Container] = &[
    ("pem-file", "pem", |_, s| format!("{s}\n")),
    ("pem-eof-no-newline", "key", |_, s| s.to_string()),
    ("pem-crlf", "pem", |_, s| {
        format!("{}\r\n", s.replace('\n', "\r\n"))
    }),
    ("json-escaped", "json", |n, s| {
        format!(
            "{{\n  \"{}\": \"{}\\n\"\n}}\n",
            n.lower,
            s.replace('\n', "\\n")
        )
    }),
    ("yaml-block", "yaml", |n, s| {
        format!("{}: |\n  {}\n", n.lower, s.replace('\n', "\n  "))
    }),
    ("python-triple-quotes", "py", |n, s| {
        format!("{} = \"\"\"{s}\n\"\"\"\n", n.upper)
    }),
    ("python-concatenated", "py", |n, s| {
        let lines: Vec<String> = s.lines().map(|l| format!("    \"{l}\\n\"")).collect();
        format!("{} = (\n{}\n)\n", n.upper, lines.join("\n"))
    }),
    ("java-concatenated", "java", |n, s| {
        let lines: Vec<String> = s.lines().map(|l| format!("    \"{l}\\n\"")).collect();
        format!("String {} =\n{};\n", n.camel, lines.join(" +\n"))
    }),
    ("go-raw-string", "go", |n, s| {
        format!("const {} = `{s}\n`\n", n.camel)
    }),
    ("terraform-heredoc", "tf", |n, s| {
        format!("{} = <<EOF\n{s}\nEOF\n", n.lower)
    }),
    ("shell-heredoc", "sh", |_, s| {
        format!("cat > id <<'EOF'\n{s}\nEOF\n")
    }),
    ("env-quoted", "env", |n, s| format!("{}=\"{s}\"\n", n.upper)),
    ("xml-element", "xml", |_, s| format!("<key>{s}</key>\n")),
];

/// A key placed in a file, and where the scan must report it.
struct Expected {
    path: String,
    rule: String,
    line: u64,
    column: u64,
    /// The secret as it must be reported; `None` where the container rewrites it (a
    /// block with `\n` escapes or indentation).
    secret: Option<String>,
}

/// 1-based line and column (in characters) of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (u64, u64) {
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[start..].chars().count() as u64 + 1)
}

/// Runs `keygate scan --format json --show-secrets` on `dir` of `env`; returns the findings.
fn scan_json(env: &TestEnv, dir: &str) -> Vec<Value> {
    let out = env
        .keygate()
        .args([
            "scan",
            "--no-git",
            "--format",
            "json",
            "--show-secrets",
            dir,
        ])
        .output()
        .expect("keygate runs");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "scan failed with {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the JSON report parses");
    doc["findings"]
        .as_array()
        .expect("the report has findings")
        .clone()
}

/// Every rule, as `keygate rules list --json` prints it.
fn builtin_rules(env: &TestEnv) -> Vec<Value> {
    let out = env
        .keygate()
        .args(["rules", "list", "--json"])
        .output()
        .expect("keygate runs");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("the rule list parses")
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// Every built-in rule finds each of its examples and none of its negative examples,
/// proven through the engine by the real binary.
#[test]
fn rules_check_passes() {
    let env = TestEnv::new();
    let out = env
        .keygate()
        .args(["rules", "check"])
        .output()
        .expect("keygate runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all pass"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The secret of every example of every rule, put in every container, is found by that
/// rule at the line and column where it was written, and nothing else is reported.
#[test]
fn every_rule_finds_its_keys_in_every_container() {
    let env = TestEnv::new();
    let rules = builtin_rules(&env);
    assert!(rules.len() >= 60, "{} rules", rules.len());

    // First learn each example's secret as the scanner itself reports it.
    for rule in &rules {
        let id = text(rule, "id");
        for (i, example) in rule["examples"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            env.write(
                &format!("examples/{id}/{i}.txt"),
                example.as_str().unwrap_or_default(),
            );
        }
    }
    let mut secrets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in scan_json(&env, "examples") {
        let id = text(&finding, "rule_id");
        if text(&finding, "path").starts_with(&format!("examples/{id}/")) {
            let list = secrets.entry(id).or_default();
            let secret = text(&finding, "secret");
            // A block written with `\n` escapes or split into string literals is
            // wrapped below from its plain form instead.
            let plain = !secret.contains('\\') && !secret.contains('"');
            if plain && !list.contains(&secret) {
                list.push(secret);
            }
        }
    }

    let mut expected = Vec::new();
    for rule in &rules {
        let id = text(rule, "id");
        let found = secrets.get(&id).cloned().unwrap_or_default();
        assert!(!found.is_empty(), "`{id}` found none of its examples");
        let names = Names::for_rule(&id);
        for (k, secret) in found.iter().take(3).enumerate() {
            let block = secret.contains('\n');
            let containers = if block {
                BLOCK_CONTAINERS
            } else {
                LINE_CONTAINERS
            };
            for (name, ext, build) in containers {
                let contents = build(&names, secret);
                // A block is placed by its first line (`-----BEGIN …`, `PuTTY-User-Key-File-…`).
                let anchor = if block {
                    secret.lines().next().unwrap_or(secret)
                } else {
                    secret.as_str()
                };
                let at = contents
                    .find(anchor)
                    .expect("the container holds the secret");
                let (line, column) = line_column(&contents, at);
                let path = format!("wrapped/{id}/{name}-{k}.{ext}");
                env.write(&path, &contents);
                expected.push(Expected {
                    path,
                    rule: id.clone(),
                    line,
                    column,
                    secret: contents[at..]
                        .starts_with(secret.as_str())
                        .then(|| secret.clone()),
                });
            }
        }
    }

    let mut by_path: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for finding in scan_json(&env, "wrapped") {
        by_path
            .entry(text(&finding, "path"))
            .or_default()
            .push(finding);
    }
    let mut failures = String::new();
    for e in &expected {
        let found = by_path.get(&e.path).cloned().unwrap_or_default();
        let hit = found.iter().any(|f| {
            text(f, "rule_id") == e.rule
                && f["line"].as_u64() == Some(e.line)
                && f["column"].as_u64() == Some(e.column)
                && e.secret.as_ref().is_none_or(|s| text(f, "secret") == *s)
        });
        if !hit || found.len() != 1 {
            let got: Vec<String> = found
                .iter()
                .map(|f| format!("{} {}:{}", text(f, "rule_id"), f["line"], f["column"]))
                .collect();
            writeln!(
                failures,
                "{}: want {} {}:{}, got {got:?}",
                e.path, e.rule, e.line, e.column
            )
            .expect("writing to a String cannot fail");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} wrapped keys not found as expected:\n{failures}",
        failures.lines().count(),
        expected.len()
    );
}

/// Placeholders, documentation values, truncated keys, slugs and other look-alikes,
/// and every rule's own negative examples: no finding in any of them.
#[test]
fn placeholders_and_look_alikes_are_not_findings() {
    let env = TestEnv::new();
    let b62 = |seed, n| keys::random(seed, n, keys::BASE62);
    let hex = |seed, n| keys::random(seed, n, keys::HEX);
    let files: Vec<(&str, String)> = vec![
        (
            ".env.example",
            "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\
             ANTHROPIC_API_KEY=sk-ant-api03-...\n\
             OPENROUTER_API_KEY=sk-or-v1-<your-key>\n\
             GROQ_API_KEY=gsk_your_groq_api_key_here\n\
             HF_TOKEN=hf_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n\
             STRIPE_SECRET_KEY=sk_live_****************************\n\
             GITHUB_TOKEN=ghp_<token>\n\
             AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n\
             AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
             SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\n\
             NPM_TOKEN=${NPM_TOKEN}\n"
                .to_string(),
        ),
        (
            "README.md",
            "Keys look like `sk-proj-abc...xyz` or `sk-ant-api03-…AA`; never commit one.\n\
             Set `OPENAI_API_KEY=sk-1234567890abcdef1234567890abcdef` in tests only.\n"
                .to_string(),
        ),
        (
            "requirements.txt",
            format!(
                "sk-learn-contrib-imbalanced-learn==0.1\ntogether==1.3.2 --hash=sha256:{}\n",
                hex(1, 64)
            ),
        ),
        (
            "style.html",
            "<li class=\"task-list-item-checkbox-container-wrapper-element\">x</li>\n\
             <a href=\"/disk-usage-statistics-for-the-current-user\">du</a>\n"
                .to_string(),
        ),
        (
            "truncated.py",
            format!(
                "OPENAI = 'sk-proj-{}'\nGH = 'ghp_{}'\nANT = 'sk-ant-api03-{}'\nSK = 'sk-{}'\n",
                b62(2, 20),
                b62(3, 20),
                b62(4, 30),
                b62(5, 24)
            ),
        ),
        (
            "hashes.txt",
            format!(
                "commit {}\nsha256 {}\nuuid 123e4567-e89b-12d3-a456-426614174000\nmistral model {}\n",
                hex(6, 40),
                hex(7, 64),
                hex(8, 32)
            ),
        ),
        (
            "pem_markers.py",
            "_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"\n\
             _SK_END = b\"-----END OPENSSH PRIVATE KEY-----\"\n\
             if line == '-----BEGIN PRIVATE KEY-----':\n    pass\n"
                .to_string(),
        ),
        (
            "empty_block.pem",
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n\
             -----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n\
             -----BEGIN RSA PRIVATE KEY-----\nBad Key, though the cert should be OK\n-----END RSA PRIVATE KEY-----\n"
                .to_string(),
        ),
        (
            "example_block.json",
            format!(
                "{{\"privateKey\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA{}EXAMPLE{}\\n-----END RSA PRIVATE KEY-----\\n\"}}\n",
                b62(9, 60),
                b62(10, 60)
            ),
        ),
        (
            "hand_typed.env",
            "OPENAI_API_KEY=sk-proj-abc123def456ghi789jkl012mno345pqr678stu901vwx234\n\
             OPENAI_API_KEY=sk-test-key-for-local-development-only\n\
             STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc\n\
             SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\n\
             HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\n\
             GITHUB_TOKEN=ghp_1234567890abcdefghijklmnopqrstuvwxyz\n\
             GOOGLE_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n"
                .to_string(),
        ),
        (
            "certificates.pem",
            format!(
                "-----BEGIN CERTIFICATE-----\nMIID{}\n-----END CERTIFICATE-----\n\
                 -----BEGIN PUBLIC KEY-----\nMIIB{}\n-----END PUBLIC KEY-----\n",
                b62(11, 64),
                b62(12, 64)
            ),
        ),
        (
            "coherence.rs",
            format!(
                "// traits::coherence::orphan {}\n// the two vectors together: {}\n",
                b62(13, 40),
                hex(14, 64)
            ),
        ),
    ];
    for (name, contents) in &files {
        env.write(&format!("neg/{name}"), contents);
    }
    for rule in builtin_rules(&env) {
        let id = text(&rule, "id");
        for (i, negative) in rule["negative_examples"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            env.write(
                &format!("neg/rules/{id}.{i}.txt"),
                negative.as_str().unwrap_or_default(),
            );
        }
    }
    let findings = scan_json(&env, "neg");
    let found: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                text(f, "path"),
                text(f, "rule_id"),
                text(f, "secret")
            )
        })
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}
