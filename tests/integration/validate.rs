//! `scan --validate` and `keygate revoke`, against mock providers on 127.0.0.1.
//!
//! Keys are the built-in rules' own examples (read through `keygate rules list
//! --json`), so no key is written in this file. Every test points providers at a
//! [`Mock`] with `--endpoint PROVIDER=http://127.0.0.1:PORT` and short timeouts:
//! nothing here reaches the network.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::mock::{answer, Answer, Mock, Seen};
use crate::util::TestEnv;

/// Every provider with a check: rule, `--endpoint` name, method, path, and the header
/// that must carry the key (with what comes before the key in it).
const PROBES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "openai.project-key",
        "openai",
        "GET",
        "/v1/models",
        "authorization",
        "Bearer ",
    ),
    (
        "anthropic.api-key",
        "anthropic",
        "GET",
        "/v1/models",
        "x-api-key",
        "",
    ),
    (
        "openrouter.api-key",
        "openrouter",
        "GET",
        "/api/v1/key",
        "authorization",
        "Bearer ",
    ),
    (
        "deepseek.api-key",
        "deepseek",
        "GET",
        "/user/balance",
        "authorization",
        "Bearer ",
    ),
    (
        "groq.api-key",
        "groq",
        "GET",
        "/openai/v1/models",
        "authorization",
        "Bearer ",
    ),
    (
        "xai.api-key",
        "xai",
        "GET",
        "/v1/api-key",
        "authorization",
        "Bearer ",
    ),
    (
        "huggingface.access-token",
        "huggingface",
        "GET",
        "/api/whoami-v2",
        "authorization",
        "Bearer ",
    ),
    (
        "google.api-key",
        "google",
        "GET",
        "/v1/models",
        "x-goog-api-key",
        "",
    ),
    (
        "mistral.api-key",
        "mistral",
        "GET",
        "/v1/models",
        "authorization",
        "Bearer ",
    ),
    (
        "together.api-key",
        "together",
        "GET",
        "/v1/models",
        "authorization",
        "Bearer ",
    ),
    (
        "replicate.api-token",
        "replicate",
        "GET",
        "/v1/account",
        "authorization",
        "Bearer ",
    ),
    (
        "github.classic-token",
        "github",
        "GET",
        "/user",
        "authorization",
        "Bearer ",
    ),
    (
        "gitlab.personal-access-token",
        "gitlab",
        "GET",
        "/api/v4/personal_access_tokens/self",
        "private-token",
        "",
    ),
    (
        "slack.bot-token",
        "slack",
        "POST",
        "/api/auth.test",
        "authorization",
        "Bearer ",
    ),
    (
        "stripe.live-secret-key",
        "stripe",
        "GET",
        "/v1/account",
        "authorization",
        "Bearer ",
    ),
    (
        "npm.access-token",
        "npm",
        "GET",
        "/-/whoami",
        "authorization",
        "Bearer ",
    ),
];

/// Each built-in rule's first example.
fn examples() -> BTreeMap<String, String> {
    let out = TestEnv::new()
        .keygate()
        .args(["rules", "list", "--json"])
        .output()
        .expect("keygate runs");
    let rules: Value = serde_json::from_slice(&out.stdout).expect("rules as JSON");
    rules
        .as_array()
        .expect("a list of rules")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("an id").to_string(),
                r["examples"][0].as_str().expect("an example").to_string(),
            )
        })
        .collect()
}

/// A scan of the test folder with `args`, with no proxy from the environment.
fn scan(env: &TestEnv, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = env
        .keygate()
        .arg("scan")
        .args(["--format", "json", "--show-secrets", "--no-progress"])
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .expect("keygate runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json, stderr)
}

/// `--validate` with `provider` pointed at `mock`, and a one-second limit.
fn validate_args(mock: &Mock, providers: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--validate".to_string(),
        "--validation-timeout".into(),
        "1".into(),
    ];
    for p in providers {
        args.push("--endpoint".into());
        args.push(format!("{p}={}", mock.url()));
    }
    args
}

fn findings(json: &Value) -> &Vec<Value> {
    json["findings"].as_array().expect("findings")
}

fn status_of(json: &Value, rule: &str) -> Vec<String> {
    findings(json)
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| {
            f["validation"]["status"]
                .as_str()
                .unwrap_or("none")
                .to_string()
        })
        .collect()
}

/// A file holding rule `rule`'s example, in a fresh folder.
fn folder_with(rule: &str) -> (TestEnv, String) {
    let example = examples().remove(rule).expect("the rule exists");
    let env = TestEnv::new();
    env.write("app.env", format!("{example}\n"));
    (env, example)
}

/// A mock that answers `status` with `body` to everything.
fn always(status: u16, body: &'static str) -> Mock {
    Mock::start(move |_| answer(status, body))
}

/// Each provider's check: the right method, path and header, the key in it, one
/// request per key, and a 2xx answer read as `live`.
#[test]
fn every_provider_is_asked_its_own_question() {
    let examples = examples();
    let env = TestEnv::new();
    for (rule, ..) in PROBES {
        env.write(
            &format!("keys/{rule}.env"),
            format!("{}\n", examples[*rule]),
        );
    }
    let mock = Mock::start(|seen: &Seen| match seen.path.as_str() {
        "/api/auth.test" => answer(200, r#"{"ok":true}"#),
        "/api/v4/personal_access_tokens/self" => answer(200, r#"{"active":true,"revoked":false}"#),
        "/user" => answer(200, r#"{"login":"octocat"}"#),
        _ => answer(200, "{}"),
    });
    let providers: Vec<&str> = PROBES.iter().map(|p| p.1).collect();
    let args = validate_args(&mock, &providers);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, stderr) = scan(&env, &args);
    assert_eq!(code, Some(1), "{stderr}");
    let seen = mock.seen();
    for (rule, _, method, path, header, prefix) in PROBES {
        let finding = findings(&json)
            .iter()
            .find(|f| f["rule_id"] == *rule)
            .unwrap_or_else(|| panic!("{rule} is found: {json:#}"));
        let secret = finding["secret"].as_str().expect("--show-secrets");
        assert_eq!(
            finding["validation"]["status"], "live",
            "{rule}: {finding:#}"
        );
        let detail = finding["validation"]["detail"].as_str().expect("a detail");
        assert!(
            !detail.is_empty() && !detail.contains(secret),
            "{rule}: {detail}"
        );
        let asked: Vec<&Seen> = seen.iter().filter(|s| s.carries(secret)).collect();
        assert_eq!(asked.len(), 1, "{rule}: one request, got {asked:#?}");
        let asked = asked[0];
        assert_eq!(asked.method, *method, "{rule}");
        assert_eq!(asked.path, *path, "{rule}");
        assert_eq!(
            asked.header(header),
            Some(format!("{prefix}{secret}").as_str()),
            "{rule}: {asked:#?}"
        );
        if *rule == "anthropic.api-key" {
            assert_eq!(asked.header("anthropic-version"), Some("2023-06-01"));
        }
    }
    assert_eq!(seen.len(), PROBES.len(), "{seen:#?}");
}

/// AWS: the key id and the secret found together sign one STS GetCallerIdentity, and
/// both findings get its verdict.
#[test]
fn aws_pairs_are_checked_with_a_signed_get_caller_identity() {
    let examples = examples();
    let env = TestEnv::new();
    env.write(
        "aws.env",
        format!(
            "{}\n{}\n",
            examples["aws.access-key-id"], examples["aws.secret-access-key"]
        ),
    );
    let mock = always(
        200,
        "<GetCallerIdentityResponse><Arn>arn:aws:iam::1:user/x</Arn></GetCallerIdentityResponse>",
    );
    let args = validate_args(&mock, &["aws"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, stderr) = scan(&env, &args);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(status_of(&json, "aws.access-key-id"), ["live"], "{json:#}");
    assert_eq!(status_of(&json, "aws.secret-access-key"), ["live"]);
    let seen = mock.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let id = findings(&json)
        .iter()
        .find(|f| f["rule_id"] == "aws.access-key-id")
        .and_then(|f| f["secret"].as_str())
        .expect("the key id");
    let secret = findings(&json)
        .iter()
        .find(|f| f["rule_id"] == "aws.secret-access-key")
        .and_then(|f| f["secret"].as_str())
        .expect("the secret");
    let request = &seen[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/")
    );
    assert_eq!(request.body, "Action=GetCallerIdentity&Version=2011-06-15");
    let auth = request.header("authorization").expect("signed");
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={id}/"))
            && auth.contains("/us-east-1/sts/aws4_request")
            && auth.contains("SignedHeaders=content-type;host;x-amz-date"),
        "{auth}"
    );
    assert!(!request.carries(secret), "the secret itself is never sent");
}

/// The AWS error codes: an unknown key id is invalid, a secret that does not match is
/// invalid, and a lone key id is unknown without any request.
#[test]
fn aws_answers_and_lone_key_ids() {
    let examples = examples();
    let env = TestEnv::new();
    env.write(
        "pair.env",
        format!(
            "{}\n{}\n",
            examples["aws.access-key-id"], examples["aws.secret-access-key"]
        ),
    );
    let mock = always(
        403,
        "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>",
    );
    let args = validate_args(&mock, &["aws"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, json, _) = scan(&env, &args);
    assert_eq!(
        status_of(&json, "aws.access-key-id"),
        ["invalid"],
        "{json:#}"
    );
    assert_eq!(mock.seen().len(), 1);

    let alone = TestEnv::new();
    alone.write("id.env", format!("{}\n", examples["aws.access-key-id"]));
    let mock = always(200, "");
    let args = validate_args(&mock, &["aws"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, json, _) = scan(&alone, &args);
    assert_eq!(status_of(&json, "aws.access-key-id"), ["unknown"]);
    let detail = &findings(&json)[0]["validation"]["detail"];
    assert!(
        detail.as_str().is_some_and(|d| d.contains("no AWS secret")),
        "{detail}"
    );
    assert!(mock.seen().is_empty());
}

/// Every status from the answers that give it, for one provider each.
#[test]
fn statuses_come_from_the_answers() {
    let cases: &[(&str, &str, u16, &'static str, &str)] = &[
        ("openai.project-key", "openai", 200, "{}", "live"),
        (
            "openai.project-key",
            "openai",
            401,
            r#"{"error":{"code":"invalid_api_key"}}"#,
            "invalid",
        ),
        ("openai.project-key", "openai", 429, "{}", "unknown"),
        (
            "slack.bot-token",
            "slack",
            200,
            r#"{"ok":false,"error":"token_revoked"}"#,
            "revoked",
        ),
        (
            "slack.bot-token",
            "slack",
            200,
            r#"{"ok":false,"error":"invalid_auth"}"#,
            "invalid",
        ),
        (
            "huggingface.access-token",
            "huggingface",
            401,
            r#"{"error":"Token has expired"}"#,
            "revoked",
        ),
        (
            "gitlab.personal-access-token",
            "gitlab",
            401,
            r#"{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}"#,
            "revoked",
        ),
        (
            "google.api-key",
            "google",
            400,
            r#"{"error":{"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}"#,
            "invalid",
        ),
        (
            "github.classic-token",
            "github",
            401,
            r#"{"message":"Bad credentials"}"#,
            "invalid",
        ),
    ];
    for (rule, provider, status, body, expected) in cases {
        let (env, _) = folder_with(rule);
        let mock = always(*status, body);
        let args = validate_args(&mock, &[provider]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, json, stderr) = scan(&env, &args);
        assert_eq!(code, Some(1), "{rule} {status}: {stderr}");
        assert_eq!(
            status_of(&json, rule),
            [*expected],
            "{rule} {status}: {json:#}"
        );
        assert_eq!(mock.seen().len(), 1, "{rule} {status}: no retry");
    }
}

/// A 5xx is tried once more, then `unknown`; the finding stands.
#[test]
fn server_errors_are_retried_once_then_unknown() {
    let (env, _) = folder_with("openai.project-key");
    let mock = always(503, "busy");
    let args = validate_args(&mock, &["openai"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, _) = scan(&env, &args);
    assert_eq!(code, Some(1));
    assert_eq!(status_of(&json, "openai.project-key"), ["unknown"]);
    assert_eq!(mock.seen().len(), 2);
}

/// A provider that does not answer in time costs the timeout twice (one retry), and
/// the key is `unknown`.
#[test]
fn timeouts_are_retried_once_then_unknown() {
    let (env, _) = folder_with("mistral.api-key");
    let mock = Mock::start(|_| Answer {
        delay: Some(Duration::from_secs(3)),
        ..answer(200, "{}")
    });
    let args = [
        "--validate",
        "--validation-timeout",
        "0.3",
        "--endpoint",
        &format!("mistral={}", mock.url()),
    ];
    let start = Instant::now();
    // Two tries of 0.3 s each, far below the mock's 3 s delay.
    let (code, json, stderr) = scan(&env, &args);
    let took = start.elapsed();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(status_of(&json, "mistral.api-key"), ["unknown"]);
    let detail = findings(&json)[0]["validation"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(detail.contains("time"), "{detail}");
    assert_eq!(mock.seen().len(), 2);
    assert!(
        took < Duration::from_secs(3),
        "bounded by the timeout: {took:?}"
    );
}

/// Nothing listening: the scan goes on, exits 1 for its findings, and says `unknown`.
#[test]
fn network_failure_never_fails_the_scan() {
    let (env, _) = folder_with("groq.api-key");
    // A port that was free a moment ago and has nobody listening now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("groq=http://127.0.0.1:{port}");
    let (code, json, stderr) = scan(
        &env,
        &[
            "--validate",
            "--validation-timeout",
            "1",
            "--endpoint",
            &endpoint,
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(status_of(&json, "groq.api-key"), ["unknown"]);
}

/// One request per distinct key, however often and wherever it appears; keys of
/// rules without a check are `unknown` and never sent.
#[test]
fn one_request_per_distinct_key() {
    let examples = examples();
    let env = TestEnv::new();
    let openai = &examples["openai.project-key"];
    let hf = &examples["huggingface.access-token"];
    env.write("a.env", format!("{openai}\n{hf}\n{openai}\n"));
    env.write("b/c.env", format!("{openai}\n{hf}\n"));
    env.write("p.env", format!("{}\n", examples["perplexity.api-key"]));
    let mock = always(200, "{}");
    let args = validate_args(&mock, &["openai", "huggingface"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, json, _) = scan(&env, &args);
    assert_eq!(
        status_of(&json, "openai.project-key"),
        ["live"; 3],
        "{json:#}"
    );
    assert_eq!(status_of(&json, "huggingface.access-token"), ["live"; 2]);
    assert_eq!(status_of(&json, "perplexity.api-key"), ["unknown"]);
    assert_eq!(mock.seen().len(), 2, "{:#?}", mock.seen());
}

/// Many keys are checked side by side, never more than 8 requests at a time.
#[test]
fn at_most_eight_requests_in_flight() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let env = TestEnv::new();
    let keys: Vec<String> = (0..24)
        .map(|i| crate::util::keys::openai_project(100 + 2 * i))
        .collect();
    env.write(
        "many.env",
        keys.iter()
            .map(|k| format!("OPENAI_API_KEY={k}\n"))
            .collect::<String>(),
    );
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mock = {
        let (now, most) = (Arc::clone(&now), Arc::clone(&most));
        Mock::start(move |_| {
            let current = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(current, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            now.fetch_sub(1, Ordering::SeqCst);
            answer(200, "{}")
        })
    };
    let args = validate_args(&mock, &["openai"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, json, stderr) = scan(&env, &args);
    assert_eq!(
        status_of(&json, "openai.project-key"),
        ["live"; 24],
        "{stderr}"
    );
    assert_eq!(mock.seen().len(), 24);
    let most = most.load(Ordering::SeqCst);
    assert!((2..=8).contains(&most), "{most} requests in flight at once");
}

/// Without `--validate` nothing is sent, even with an endpoint in the environment,
/// and the report has no `validation` field.
#[test]
fn nothing_is_sent_without_validate() {
    let (env, _) = folder_with("openai.project-key");
    let mock = always(200, "{}");
    let out = env
        .keygate()
        .args(["scan", "--format", "json", "--no-progress"])
        .env("KEYGATE_ENDPOINT_OPENAI", mock.url())
        .output()
        .expect("keygate runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("validation"), "{text}");
    assert!(mock.seen().is_empty());
}

/// The environment can point a provider at an endpoint too.
#[test]
fn endpoints_come_from_the_environment() {
    let (env, _) = folder_with("openai.project-key");
    let mock = always(200, "{}");
    let out = env
        .keygate()
        .args([
            "scan",
            "--format",
            "json",
            "--validate",
            "--validation-timeout",
            "1",
        ])
        .env("KEYGATE_ENDPOINT_OPENAI", mock.url())
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .output()
        .expect("keygate runs");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(status_of(&json, "openai.project-key"), ["live"]);
    assert_eq!(mock.seen().len(), 1);
}

/// `HTTPS_PROXY` is honoured, and `NO_PROXY` makes exceptions to it.
#[test]
fn proxies_come_from_the_environment() {
    let (env, _) = folder_with("openai.project-key");
    let target = always(200, "{}");
    let proxy = always(502, "");
    let endpoint = format!("openai={}", target.url());
    let run = |no_proxy: Option<&str>| {
        let mut cmd = env.keygate();
        cmd.args(["scan", "--format", "json", "--no-progress", "--validate"])
            .args(["--validation-timeout", "1", "--endpoint", &endpoint])
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env_remove("https_proxy")
            .env_remove("no_proxy")
            .env("HTTPS_PROXY", proxy.url());
        match no_proxy {
            Some(hosts) => cmd.env("NO_PROXY", hosts),
            None => cmd.env_remove("NO_PROXY"),
        };
        let out = cmd.output().expect("keygate runs");
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON")
    };
    let json = run(None);
    assert_eq!(
        status_of(&json, "openai.project-key"),
        ["unknown"],
        "{json:#}"
    );
    assert!(target.seen().is_empty(), "{:#?}", target.seen());
    let through = proxy.seen();
    assert!(
        !through.is_empty()
            && through
                .iter()
                .all(|s| s.path.contains(&target.port.to_string())),
        "{through:#?}"
    );
    let json = run(Some("127.0.0.1"));
    assert_eq!(status_of(&json, "openai.project-key"), ["live"], "{json:#}");
    assert_eq!(target.seen().len(), 1);
    assert_eq!(
        proxy.seen().len(),
        through.len(),
        "NO_PROXY skips the proxy"
    );
}

/// A redirect is never followed: the key goes to the chosen endpoint and nowhere else.
#[test]
fn redirects_are_not_followed() {
    let (env, _) = folder_with("openai.project-key");
    let elsewhere = always(200, "{}");
    let location = format!("{}/v1/models", elsewhere.url());
    let mock = Mock::start(move |_| Answer {
        headers: vec![("location".into(), location.clone())],
        ..answer(302, "")
    });
    let args = validate_args(&mock, &["openai"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, json, _) = scan(&env, &args);
    assert_eq!(
        status_of(&json, "openai.project-key"),
        ["unknown"],
        "{json:#}"
    );
    assert_eq!(mock.seen().len(), 1);
    assert!(elsewhere.seen().is_empty());
}

/// Plain HTTP to another machine is refused before anything is sent.
#[test]
fn plain_http_goes_to_loopback_only() {
    let (env, _) = folder_with("openai.project-key");
    let (code, _, stderr) = scan(
        &env,
        &["--validate", "--endpoint", "openai=http://192.0.2.1:8080"],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("HTTPS only"), "{stderr}");
}

/// A scanned repository's config cannot turn validation on or choose where keys go:
/// each attempt is a config error on its line, and nothing is sent.
#[test]
fn a_config_cannot_redirect_keys() {
    let mock = always(200, "{}");
    for (config, key, line) in [
        (
            format!("[endpoints]\nopenai = \"{}\"\n", mock.url()),
            "endpoints",
            1,
        ),
        ("disable = []\nvalidate = true\n".to_string(), "validate", 2),
        (
            format!("endpoint = [\"openai={}\"]\n", mock.url()),
            "endpoint",
            1,
        ),
    ] {
        let (env, _) = folder_with("openai.project-key");
        env.write(".keygate.toml", &config);
        for args in [vec!["--validate"], vec![]] {
            let (code, _, stderr) = scan(&env, &args);
            assert_eq!(code, Some(2), "{config}: {stderr}");
            assert!(
                stderr.contains(&format!("config `.keygate.toml`, line {line}, column"))
                    && stderr.contains(&format!("`{key}` cannot be set in a config file")),
                "{config}: {stderr}"
            );
        }
    }
    assert!(mock.seen().is_empty());
}

/// A merge check reads its config from the base commit; a base config that tries to
/// send keys somewhere is refused like any other.
#[test]
fn a_range_base_config_cannot_redirect_keys() {
    let mock = always(200, "{}");
    let env = TestEnv::git_repo();
    env.write(
        ".keygate.toml",
        format!("[endpoints]\nopenai = \"{}\"\n", mock.url()),
    );
    let base = env.commit_all("base");
    let example = examples().remove("openai.project-key").expect("rule");
    env.write("app.env", format!("{example}\n"));
    env.commit_all("leak");
    let range = format!("{base}..HEAD");
    let (code, _, stderr) = scan(&env, &["--range", &range, "--validate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`endpoints` cannot be set"), "{stderr}");
    assert!(mock.seen().is_empty());
}

/// Custom rules are never validated, whatever their id says.
#[test]
fn custom_rules_are_never_validated() {
    let env = TestEnv::new();
    env.write(
        ".keygate.toml",
        "[[rules]]\nid = \"openai.internal\"\nname = \"Internal key\"\ndescription = \"An internal key.\"\nseverity = \"high\"\nregex = '''(?P<secret>kgint_[a-z0-9]{12})'''\nkeywords = [\"kgint_\"]\nexamples = [\"kgint_q7w3zk9x2m4p\"]\n",
    );
    env.write("app.txt", "token = kgint_h5t8r2n6b1vq\n");
    let mock = always(200, "{}");
    let args = validate_args(&mock, &["openai"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, stderr) = scan(&env, &args);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(status_of(&json, "openai.internal"), ["unknown"], "{json:#}");
    assert!(mock.seen().is_empty());
}

/// `--status` keeps the findings with the listed statuses only, and the exit status
/// follows what is kept.
#[test]
fn status_filters_findings() {
    let examples = examples();
    let env = TestEnv::new();
    env.write("live.env", format!("{}\n", examples["openai.project-key"]));
    env.write("dead.env", format!("{}\n", examples["groq.api-key"]));
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/v1/models" {
            answer(200, "{}")
        } else {
            answer(401, "{}")
        }
    });
    let mut args = validate_args(&mock, &["openai", "groq"]);
    args.extend(["--status".into(), "live,unknown".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, _) = scan(&env, &args);
    assert_eq!(code, Some(1));
    let rules: Vec<&str> = findings(&json)
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(rules, ["openai.project-key"]);

    let mut args = validate_args(&mock, &["groq"]);
    args.extend(["--status".into(), "live".into()]);
    env.write("live.env", "nothing\n");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, _) = scan(&env, &args);
    assert_eq!(code, Some(0), "{json:#}");
}

/// `--status` means nothing without `--validate`.
#[test]
fn status_needs_validate() {
    let (env, _) = folder_with("openai.project-key");
    let (code, _, stderr) = scan(&env, &["--status", "live"]);
    assert_eq!(code, Some(2), "{stderr}");
}

/// Human output: the status beside the rule, its detail, live keys first.
#[test]
fn human_output_lists_live_keys_first() {
    let examples = examples();
    let env = TestEnv::new();
    // `a.env` sorts first by path, but its key is dead.
    env.write("a.env", format!("{}\n", examples["groq.api-key"]));
    env.write("z.env", format!("{}\n", examples["openai.project-key"]));
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/v1/models" {
            answer(200, "{}")
        } else {
            answer(401, "{}")
        }
    });
    let out = env
        .keygate()
        .args(["scan", "--format", "human", "--no-progress"])
        .args(validate_args(&mock, &["openai", "groq"]))
        .output()
        .expect("keygate runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let live = text.find("openai.project-key LIVE").expect(&text);
    let dead = text.find("groq.api-key INVALID").expect(&text);
    assert!(live < dead, "{text}");
    assert!(text.contains("status:  live: OpenAI accepted it"), "{text}");
    assert!(text.contains("1 of them is live"), "{text}");
}

/// SARIF: the verdict is a result property, and a live key is an error.
#[test]
fn sarif_marks_live_keys_as_errors() {
    let examples = examples();
    let env = TestEnv::new();
    env.write(
        "live.env",
        format!("{}\n", examples["stripe.test-secret-key"]),
    );
    env.write("dead.env", format!("{}\n", examples["groq.api-key"]));
    let mock = Mock::start(|seen: &Seen| {
        if seen.path == "/v1/account" {
            answer(200, "{}")
        } else {
            answer(401, "{}")
        }
    });
    let out = env
        .keygate()
        .args(["scan", "--format", "sarif", "--no-progress"])
        .args(validate_args(&mock, &["stripe", "groq"]))
        .output()
        .expect("keygate runs");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let by_rule = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("{rule}: {sarif:#}"))
    };
    let live = by_rule("stripe.test-secret-key");
    assert_eq!(live["level"], "error");
    assert_eq!(live["properties"]["validation"]["status"], "live");
    let dead = by_rule("groq.api-key");
    assert_eq!(dead["properties"]["validation"]["status"], "invalid");
}

/// JSONL waits for the verdicts and writes each finding with its own.
#[test]
fn jsonl_carries_the_verdicts() {
    let (env, _) = folder_with("npm.access-token");
    let mock = always(200, r#"{"username":"someone"}"#);
    let out = env
        .keygate()
        .args(["scan", "--format", "jsonl", "--no-progress"])
        .args(validate_args(&mock, &["npm"]))
        .output()
        .expect("keygate runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["validation"]["status"], "live");
}

/// A hostile endpoint that echoes the key back cannot get it into the report.
#[test]
fn details_never_hold_the_secret() {
    let (env, example) = folder_with("github.classic-token");
    let mock = Mock::start(|seen: &Seen| {
        let token = seen
            .header("authorization")
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_string();
        answer(200, &format!("{{\"login\":\"{token}\"}}"))
    });
    let out = env
        .keygate()
        .args(["scan", "--format", "json", "--no-progress"])
        .args(validate_args(&mock, &["github"]))
        .output()
        .expect("keygate runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let secret = example.trim_start_matches("GITHUB_TOKEN");
    assert!(text.contains("\"live\""), "{text}");
    assert!(!text.contains(secret), "{text}");
}

// keygate revoke

fn revoke(env: &TestEnv, args: &[&str], stdin: Option<&str>) -> (Option<i32>, String, String) {
    let mut cmd = env.keygate();
    cmd.arg("revoke")
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY");
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().expect("keygate runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The secret alone, from a rule's example `NAME=secret` or `NAMEsecret`.
fn secret_of(rule: &str, prefix: &str) -> String {
    let example = examples().remove(rule).expect("the rule");
    let at = example.find(prefix).expect("the key's prefix");
    example[at..].to_string()
}

/// GitHub: the public revocation API, unauthenticated, the key in the JSON body;
/// 202 means revoked (exit 0). The secret comes from standard input and is never
/// printed whole.
#[test]
fn revoke_github_through_the_credentials_api() {
    let secret = secret_of("github.classic-token", "ghp_");
    let mock = always(202, "");
    let env = TestEnv::new();
    let endpoint = format!("github={}", mock.url());
    let (code, stdout, stderr) = revoke(
        &env,
        &["--endpoint", &endpoint, "-"],
        Some(&format!("{secret}\n")),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("revoked"), "{stdout}");
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/credentials/revoke")
    );
    let body: Value = serde_json::from_str(&seen[0].body).expect("a JSON body");
    assert_eq!(body, serde_json::json!({ "credentials": [secret] }));
    assert_eq!(seen[0].header("authorization"), None);
}

/// GitLab: the token deletes itself; a 401 means nothing was revoked (exit 3).
#[test]
fn revoke_gitlab_personal_access_token() {
    let secret = secret_of("gitlab.personal-access-token", "glpat-");
    for (status, code) in [(204, 0), (401, 3)] {
        let mock = always(status, "");
        let env = TestEnv::new();
        let endpoint = format!("gitlab={}", mock.url());
        let (got, stdout, stderr) = revoke(&env, &["--endpoint", &endpoint, "-"], Some(&secret));
        assert_eq!(got, Some(code), "{status}: {stdout}{stderr}");
        let seen = mock.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "DELETE");
        assert_eq!(seen[0].path, "/api/v4/personal_access_tokens/self");
        assert_eq!(seen[0].header("private-token"), Some(secret.as_str()));
        assert!(!stdout.contains(&secret));
    }
}

/// Slack: `auth.revoke` with the token; `revoked: true` means revoked.
#[test]
fn revoke_slack_with_auth_revoke() {
    let secret = secret_of("slack.bot-token", "xoxb-");
    let mock = always(200, r#"{"ok":true,"revoked":true}"#);
    let env = TestEnv::new();
    let endpoint = format!("slack={}", mock.url());
    let (code, stdout, stderr) = revoke(&env, &["--endpoint", &endpoint, "-"], Some(&secret));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let seen = mock.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/auth.revoke")
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {secret}").as_str())
    );
}

/// Without a revocation API (OpenAI), keygate prints the revoke page and steps, sends
/// nothing and exits 3: nothing was revoked.
#[test]
fn revoke_without_an_api_prints_the_way_by_hand() {
    let secret = secret_of("openai.project-key", "sk-proj-");
    let mock = always(200, "{}");
    let env = TestEnv::new();
    let endpoint = format!("openai={}", mock.url());
    let (code, stdout, _) = revoke(&env, &["--endpoint", &endpoint, "-"], Some(&secret));
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        stdout.contains("https://platform.openai.com/api-keys"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing was revoked"), "{stdout}");
    assert!(!stdout.contains(&secret));
    assert!(mock.seen().is_empty());
}

/// A text that is no known key is an error (exit 2), and a network failure too.
#[test]
fn revoke_errors() {
    let env = TestEnv::new();
    let (code, _, stderr) = revoke(&env, &["-"], Some("hello world"));
    assert_eq!(code, Some(2), "{stderr}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let secret = secret_of("github.classic-token", "ghp_");
    let endpoint = format!("github=http://127.0.0.1:{port}");
    let (code, _, stderr) = revoke(
        &env,
        &["--timeout", "1", "--endpoint", &endpoint, "-"],
        Some(&secret),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains(&secret));
}
