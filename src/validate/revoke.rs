//! Revocation through a provider's API, for `keygate revoke`.
//!
//! Three providers let keygate revoke a key by its value: GitHub (the public
//! credential revocation API, unauthenticated), GitLab (a personal access token
//! revokes itself) and Slack (`auth.revoke`). [`api_for`] says which applies to a
//! rule; [`revoke`] sends the one request and reads the answer. For every other key
//! `commands::revoke` prints where and how to revoke it by hand.

use std::time::Duration;

use super::http::{Client, Method, Reply, Request};
use super::providers::{Fields, GITHUB_HEADERS};
use super::Endpoints;

/// A revocation API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `POST /credentials/revoke` on api.github.com, `{"credentials": [KEY]}`.
    GitHub,
    /// `DELETE /api/v4/personal_access_tokens/self` with the token itself.
    GitLab,
    /// `POST /api/auth.revoke` with the token itself.
    Slack,
}

impl Api {
    pub fn provider(self) -> &'static str {
        match self {
            Api::GitHub => "github",
            Api::GitLab => "gitlab",
            Api::Slack => "slack",
        }
    }
}

/// How a revocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The provider took the key back (or accepted the request to).
    Revoked(String),
    /// The provider answered, and nothing was revoked (the key was not valid, say).
    Refused(String),
    /// No usable answer: network failure, timeout, unexpected status.
    Failed(String),
}

/// The revocation API for keys of rule `rule_id`, if there is one.
pub fn api_for(rule_id: &str) -> Option<Api> {
    match rule_id {
        // ghp_, github_pat_, gho_, ghu_, ghr_.
        "github.classic-token"
        | "github.fine-grained-token"
        | "github.oauth-token"
        | "github.user-to-server-token"
        | "github.refresh-token" => Some(Api::GitHub),
        "gitlab.personal-access-token" => Some(Api::GitLab),
        "slack.bot-token" | "slack.user-token" | "slack.legacy-token" => Some(Api::Slack),
        _ => None,
    }
}

/// The request that revokes `key` through `api` at `base`.
pub fn request(api: Api, base: &str, key: &str) -> Request {
    match api {
        Api::GitHub => Request {
            method: Method::Post,
            url: format!("{base}/credentials/revoke"),
            // Unauthenticated on purpose: GitHub refuses authenticated calls here.
            headers: GITHUB_HEADERS
                .iter()
                .map(|&(name, value)| (name, value.to_string()))
                .collect(),
            body: Some((
                "application/json",
                serde_json::json!({ "credentials": [key] })
                    .to_string()
                    .into_bytes(),
            )),
        },
        Api::GitLab => Request {
            method: Method::Delete,
            url: format!("{base}/api/v4/personal_access_tokens/self"),
            headers: vec![("private-token", key.to_string())],
            body: None,
        },
        Api::Slack => Request {
            method: Method::Post,
            url: format!("{base}/api/auth.revoke"),
            headers: vec![("authorization", format!("Bearer {key}"))],
            body: None,
        },
    }
}

/// Revokes `key` through `api`; one request, no retry.
pub fn revoke(api: Api, key: &str, endpoints: &Endpoints, timeout: Duration) -> Revocation {
    let Some(base) = endpoints.base(api.provider()) else {
        return Revocation::Failed("no endpoint for this provider".into());
    };
    let reply = Client::new(timeout).send(&request(api, &base, key));
    let outcome = read(api, &reply);
    let scrub = |s: String| super::scrub(&s, &[key]);
    match outcome {
        Revocation::Revoked(s) => Revocation::Revoked(scrub(s)),
        Revocation::Refused(s) => Revocation::Refused(scrub(s)),
        Revocation::Failed(s) => Revocation::Failed(scrub(s)),
    }
}

/// What the provider's answer means.
pub fn read(api: Api, reply: &Reply) -> Revocation {
    let (status, body) = match reply {
        Reply::Answer { status, body, .. } => (*status, body.as_str()),
        Reply::Timeout => return Revocation::Failed("no answer in time".into()),
        Reply::Failed(why) => return Revocation::Failed(format!("no answer: {why}")),
    };
    match (api, status) {
        (Api::GitHub, 202) => Revocation::Revoked(
            "GitHub accepted the revocation (HTTP 202); it revokes the token if it is one of \
             its own and notifies the owner"
                .into(),
        ),
        (Api::GitHub, 422) => Revocation::Refused(
            "GitHub refused the request (HTTP 422: not a token it revokes, or too many requests)"
                .into(),
        ),
        (Api::GitLab, 204 | 200) => Revocation::Revoked("GitLab revoked the token".into()),
        (Api::GitLab, 401) => Revocation::Refused(
            "GitLab rejected the token (HTTP 401): it is already revoked, expired or not valid"
                .into(),
        ),
        (Api::Slack, 200) => {
            let fields = Fields::of(body);
            match (
                fields.flag("ok"),
                fields.flag("revoked"),
                fields.text("error"),
            ) {
                (Some(true), Some(true), _) => {
                    Revocation::Revoked("Slack revoked the token".into())
                }
                (Some(true), _, _) => {
                    Revocation::Refused("Slack answered without revoking the token".into())
                }
                (_, _, Some(e)) => Revocation::Refused(format!("Slack refused: `{e}`")),
                _ => Revocation::Failed("Slack gave an answer keygate cannot read".into()),
            }
        }
        (_, 429) => Revocation::Failed("rate limited (HTTP 429); try again later".into()),
        _ => Revocation::Failed(format!("unexpected answer (HTTP {status})")),
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
    fn answers_read_as_the_providers_document_them() {
        assert!(matches!(
            read(Api::GitHub, &answer(202, "")),
            Revocation::Revoked(_)
        ));
        assert!(matches!(
            read(Api::GitHub, &answer(422, "")),
            Revocation::Refused(_)
        ));
        assert!(matches!(
            read(Api::GitLab, &answer(204, "")),
            Revocation::Revoked(_)
        ));
        assert!(matches!(
            read(Api::GitLab, &answer(401, "")),
            Revocation::Refused(_)
        ));
        assert!(matches!(
            read(Api::Slack, &answer(200, r#"{"ok":true,"revoked":true}"#)),
            Revocation::Revoked(_)
        ));
        assert!(matches!(
            read(
                Api::Slack,
                &answer(200, r#"{"ok":false,"error":"invalid_auth"}"#)
            ),
            Revocation::Refused(_)
        ));
        assert!(matches!(
            read(Api::Slack, &Reply::Timeout),
            Revocation::Failed(_)
        ));
    }

    #[test]
    fn github_gets_the_key_in_the_body_and_no_authorization() {
        let req = request(Api::GitHub, "https://api.github.com", "ghp_x");
        assert_eq!(req.url, "https://api.github.com/credentials/revoke");
        assert!(req.headers.iter().all(|(name, _)| *name != "authorization"));
        let (_, body) = req.body.expect("a body");
        assert_eq!(body, br#"{"credentials":["ghp_x"]}"#);
    }
}
