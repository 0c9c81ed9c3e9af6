//! What each provider is asked, and how its answer reads.
//!
//! One table, [`PROVIDERS`], names every provider keygate ever sends a key to and its
//! documented HTTPS endpoint; [`check_for`] maps a rule id to the free, read-only
//! request that tells whether its key works, and [`judge`] reads the answer into a
//! status. Nothing here sends anything: `super` runs the requests through
//! [`super::http`].

use serde_json::Value;

use super::http::{Method, Reply, Request};
use crate::finding::{Status, Validation};

/// A provider keygate may talk to: the first part of its rule ids, and where its
/// API lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provider {
    pub name: &'static str,
    pub base: &'static str,
    /// How messages name it.
    pub title: &'static str,
}

/// Every provider a key may be sent to, with its documented endpoint.
pub const PROVIDERS: &[Provider] = &[
    p("openai", "https://api.openai.com", "OpenAI"),
    p("anthropic", "https://api.anthropic.com", "Anthropic"),
    p("openrouter", "https://openrouter.ai", "OpenRouter"),
    p("deepseek", "https://api.deepseek.com", "DeepSeek"),
    p("groq", "https://api.groq.com", "Groq"),
    p("xai", "https://api.x.ai", "xAI"),
    p("huggingface", "https://huggingface.co", "Hugging Face"),
    p(
        "google",
        "https://generativelanguage.googleapis.com",
        "Google",
    ),
    p("mistral", "https://api.mistral.ai", "Mistral"),
    p("together", "https://api.together.xyz", "Together"),
    p("replicate", "https://api.replicate.com", "Replicate"),
    p("github", "https://api.github.com", "GitHub"),
    p("gitlab", "https://gitlab.com", "GitLab"),
    p("slack", "https://slack.com", "Slack"),
    p("stripe", "https://api.stripe.com", "Stripe"),
    p("npm", "https://registry.npmjs.org", "npm"),
    p("aws", "https://sts.amazonaws.com", "AWS STS"),
];

const fn p(name: &'static str, base: &'static str, title: &'static str) -> Provider {
    Provider { name, base, title }
}

/// The provider called `name`.
pub fn provider(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name)
}

/// How the key travels in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// `Authorization: Bearer KEY`.
    Bearer,
    /// The key as the value of this header.
    Header(&'static str),
}

/// A free, read-only request that tells whether a key works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Probe {
    pub provider: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub auth: Auth,
    /// Further fixed headers.
    pub headers: &'static [(&'static str, &'static str)],
}

/// What validation does for one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Ask the provider with this request.
    Probe(Probe),
    /// STS `GetCallerIdentity`, signed with a key id and its secret (see `aws`).
    AwsPair,
    /// No check: the key is `unknown`, for this reason.
    None(&'static str),
}

const fn get(provider: &'static str, path: &'static str, auth: Auth) -> Check {
    Check::Probe(Probe {
        provider,
        method: Method::Get,
        path,
        auth,
        headers: &[],
    })
}

/// The check for keys of rule `rule_id` (a built-in rule).
pub fn check_for(rule_id: &str) -> Check {
    let provider = rule_id.split('.').next().unwrap_or_default();
    match (provider, rule_id) {
        (_, "openai.admin-key") => {
            Check::None("admin keys are not checked: /v1/models is for project keys")
        }
        (_, "openai.key-body") => {
            Check::None("the key's prefix is not in the file, so it cannot be checked as written")
        }
        ("openai", _) => get("openai", "/v1/models", Auth::Bearer),
        (_, "anthropic.api-key") => Check::Probe(Probe {
            provider: "anthropic",
            method: Method::Get,
            path: "/v1/models",
            auth: Auth::Header("x-api-key"),
            headers: &[("anthropic-version", "2023-06-01")],
        }),
        ("openrouter", _) => get("openrouter", "/api/v1/key", Auth::Bearer),
        ("deepseek", _) => get("deepseek", "/user/balance", Auth::Bearer),
        ("groq", _) => get("groq", "/openai/v1/models", Auth::Bearer),
        ("xai", _) => get("xai", "/v1/api-key", Auth::Bearer),
        ("huggingface", _) => get("huggingface", "/api/whoami-v2", Auth::Bearer),
        ("google", _) => get("google", "/v1/models", Auth::Header("x-goog-api-key")),
        ("mistral", _) => get("mistral", "/v1/models", Auth::Bearer),
        ("together", _) => get("together", "/v1/models", Auth::Bearer),
        ("replicate", _) => get("replicate", "/v1/account", Auth::Bearer),
        (_, "github.refresh-token") => Check::None("refresh tokens cannot call the API"),
        ("github", _) => Check::Probe(Probe {
            provider: "github",
            method: Method::Get,
            path: "/user",
            auth: Auth::Bearer,
            headers: GITHUB_HEADERS,
        }),
        (_, "gitlab.personal-access-token") => get(
            "gitlab",
            "/api/v4/personal_access_tokens/self",
            Auth::Header("private-token"),
        ),
        (_, "slack.bot-token" | "slack.user-token" | "slack.legacy-token") => Check::Probe(Probe {
            provider: "slack",
            method: Method::Post,
            path: "/api/auth.test",
            auth: Auth::Bearer,
            headers: &[],
        }),
        (_, "stripe.webhook-secret") => {
            Check::None("webhook secrets sign events and cannot call the API")
        }
        ("stripe", _) => get("stripe", "/v1/account", Auth::Bearer),
        (_, "npm.access-token") => get("npm", "/-/whoami", Auth::Bearer),
        ("aws", _) => Check::AwsPair,
        ("perplexity", _) => Check::None("Perplexity has no free read-only check"),
        ("pypi", _) => Check::None("PyPI has no free read-only check"),
        _ => Check::None("keygate has no check for this kind of key"),
    }
}

/// The request of `probe` for `key`, sent to `base` (scheme and host, perhaps a
/// path prefix, no trailing `/`).
pub fn request(probe: &Probe, base: &str, key: &str) -> Request {
    let mut headers: Vec<(&'static str, String)> = probe
        .headers
        .iter()
        .map(|(name, value)| (*name, (*value).to_string()))
        .collect();
    headers.push(match probe.auth {
        Auth::Bearer => ("authorization", format!("Bearer {key}")),
        Auth::Header(name) => (name, key.to_string()),
    });
    Request {
        method: probe.method,
        url: format!("{base}{}", probe.path),
        headers,
        body: None,
    }
}

/// What an answer (or its absence) says of the key.
/// The headers GitHub's REST API asks every call for.
pub const GITHUB_HEADERS: &[(&str, &str)] = &[
    ("accept", "application/vnd.github+json"),
    ("x-github-api-version", "2022-11-28"),
];

/// The top-level fields of a JSON answer, where the answer is JSON.
pub struct Fields(Option<Value>);

impl Fields {
    pub fn of(body: &str) -> Fields {
        Fields(serde_json::from_str(body).ok())
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.0
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn flag(&self, key: &str) -> Option<bool> {
        self.0
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_bool)
    }
}

pub fn judge(provider: &str, reply: &Reply) -> Validation {
    let title = self::provider(provider).map_or(provider, |p| p.title);
    let (status, body, rate_limited) = match reply {
        Reply::Timeout => return unknown("no answer in time (timed out, tried twice)"),
        Reply::Failed(why) => return unknown(&format!("no answer: {why}")),
        Reply::Answer {
            status,
            body,
            rate_limited,
        } => (*status, body.as_str(), *rate_limited),
    };
    let fields = Fields::of(body);
    let text = |key: &str| fields.text(key);
    let flag = |key: &str| fields.flag(key);
    let lower = body.to_ascii_lowercase();
    match (provider, status) {
        // Slack answers 200 to everything and says what it meant in `ok` and `error`.
        ("slack", 200) => match (flag("ok"), text("error").as_deref()) {
            (Some(true), _) => live(&format!("{title} auth.test accepted it")),
            (_, Some(e @ ("invalid_auth" | "not_authed"))) => invalid(&format!("{title}: `{e}`")),
            (_, Some(e @ ("token_revoked" | "token_expired" | "account_inactive"))) => {
                revoked(&format!("{title}: `{e}`"))
            }
            (_, Some(e)) => unknown(&format!("{title} said `{e}`")),
            (_, None) => unknown(&format!("{title} gave an answer keygate cannot read")),
        },
        ("gitlab", 200) => {
            if flag("revoked") == Some(true) {
                revoked("GitLab: the token is revoked")
            } else if flag("active") == Some(false) {
                revoked("GitLab: the token is no longer active (expired)")
            } else {
                live("GitLab accepted it")
            }
        }
        ("xai", 200) if flag("api_key_blocked") == Some(true) => revoked("xAI: the key is blocked"),
        ("xai", 200) if flag("api_key_disabled") == Some(true) => {
            revoked("xAI: the key is disabled")
        }
        ("github", 200) => match text("login") {
            Some(login) => live(&format!("GitHub accepted it (user `{login}`)")),
            None => live("GitHub accepted it"),
        },
        ("aws", 200) => live("AWS STS GetCallerIdentity accepted it"),
        (_, 200..=299) => live(&format!("{title} accepted it (HTTP {status})")),
        ("aws", 400 | 403) => {
            if body.contains("InvalidClientTokenId") {
                invalid("AWS: the access key id is not valid")
            } else if body.contains("SignatureDoesNotMatch") {
                invalid("AWS: the secret does not belong to this access key id")
            } else if body.contains("ExpiredToken") {
                revoked("AWS: the credentials have expired")
            } else {
                unknown(&format!("AWS answered HTTP {status}"))
            }
        }
        (_, 401) if lower.contains("revoked") => revoked(&format!("{title}: the key was revoked")),
        (_, 401) if lower.contains("expired") => revoked(&format!("{title}: the key has expired")),
        (_, 401) => invalid(&format!("{title} rejected it (HTTP 401)")),
        ("google", 400) if body.contains("API_KEY_INVALID") => {
            invalid("Google: the API key is not valid")
        }
        ("google", 400) if lower.contains("expired") => revoked("Google: the API key has expired"),
        ("xai", 400) if lower.contains("incorrect api key") => {
            invalid("xAI rejected it (incorrect API key)")
        }
        (_, 403) if rate_limited => unknown(&format!("{title}: rate limited (HTTP 403)")),
        // OpenAI refuses every request from some regions, whatever the key.
        ("openai", 403) if lower.contains("unsupported_country") => {
            unknown("OpenAI refuses requests from this region (HTTP 403)")
        }
        // These answer 401 to an unknown key and 403 to a known key that may not
        // call this endpoint.
        ("github" | "stripe" | "openai" | "anthropic" | "google", 403) => live(&format!(
            "{title} knows the key but refused this request (HTTP 403)"
        )),
        (_, 429) => unknown(&format!("{title}: rate limited (HTTP 429)")),
        (_, 500..=599) => unknown(&format!(
            "{title}: server error (HTTP {status}, tried twice)"
        )),
        (_, 300..=399) => unknown(&format!(
            "{title} redirected the request (HTTP {status}); not followed"
        )),
        _ => unknown(&format!("{title} answered HTTP {status}")),
    }
}

pub fn live(detail: &str) -> Validation {
    verdict(Status::Live, detail)
}

pub fn invalid(detail: &str) -> Validation {
    verdict(Status::Invalid, detail)
}

pub fn revoked(detail: &str) -> Validation {
    verdict(Status::Revoked, detail)
}

pub fn unknown(detail: &str) -> Validation {
    verdict(Status::Unknown, detail)
}

fn verdict(status: Status, detail: &str) -> Validation {
    Validation {
        status,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            body: body.into(),
            rate_limited: false,
        }
    }

    #[test]
    fn every_probe_names_a_known_provider() {
        for id in [
            "openai.project-key",
            "anthropic.api-key",
            "openrouter.api-key",
            "deepseek.api-key",
            "groq.api-key",
            "xai.api-key",
            "huggingface.access-token",
            "google.api-key",
            "mistral.api-key",
            "together.api-key",
            "replicate.api-token",
            "github.classic-token",
            "gitlab.personal-access-token",
            "slack.bot-token",
            "stripe.live-secret-key",
            "npm.access-token",
        ] {
            match check_for(id) {
                Check::Probe(probe) => assert!(provider(probe.provider).is_some(), "{id}"),
                other => panic!("{id} has no probe: {other:?}"),
            }
        }
        assert_eq!(check_for("aws.access-key-id"), Check::AwsPair);
        assert!(matches!(check_for("perplexity.api-key"), Check::None(_)));
        assert!(matches!(check_for("pypi.api-token"), Check::None(_)));
        assert!(matches!(check_for("private-key.rsa"), Check::None(_)));
    }

    #[test]
    fn documented_endpoints_are_https() {
        for p in PROVIDERS {
            assert!(p.base.starts_with("https://"), "{}", p.name);
        }
    }

    #[test]
    fn statuses_follow_the_answers() {
        assert_eq!(judge("openai", &answer(200, "{}")).status, Status::Live);
        assert_eq!(judge("openai", &answer(401, "{}")).status, Status::Invalid);
        assert_eq!(judge("openai", &answer(429, "")).status, Status::Unknown);
        assert_eq!(judge("openai", &answer(503, "")).status, Status::Unknown);
        assert_eq!(judge("openai", &Reply::Timeout).status, Status::Unknown);
        assert_eq!(
            judge("huggingface", &answer(401, r#"{"error":"Token expired"}"#)).status,
            Status::Revoked
        );
        assert_eq!(
            judge(
                "slack",
                &answer(200, r#"{"ok":false,"error":"token_revoked"}"#)
            )
            .status,
            Status::Revoked
        );
        assert_eq!(
            judge(
                "slack",
                &answer(200, r#"{"ok":false,"error":"invalid_auth"}"#)
            )
            .status,
            Status::Invalid
        );
        assert_eq!(
            judge(
                "gitlab",
                &answer(200, r#"{"active":false,"revoked":false}"#)
            )
            .status,
            Status::Revoked
        );
        let limited = Reply::Answer {
            status: 403,
            body: String::new(),
            rate_limited: true,
        };
        assert_eq!(judge("github", &limited).status, Status::Unknown);
        assert_eq!(judge("github", &answer(403, "")).status, Status::Live);
        let region = r#"{"error":{"code":"unsupported_country_region_territory"}}"#;
        assert_eq!(
            judge("openai", &answer(403, region)).status,
            Status::Unknown
        );
        assert_eq!(
            judge("xai", &answer(200, r#"{"api_key_blocked":true}"#)).status,
            Status::Revoked
        );
        assert_eq!(judge("xai", &answer(200, "{}")).status, Status::Live);
        assert_eq!(judge("openai", &answer(302, "")).status, Status::Unknown);
        assert_eq!(
            judge("openai", &Reply::Failed("connection failed".into())).status,
            Status::Unknown
        );
        assert_eq!(
            judge("aws", &answer(403, "<Code>SignatureDoesNotMatch</Code>")).status,
            Status::Invalid
        );
    }
}
