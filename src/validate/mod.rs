//! Validation and revocation: the only code in keygate that talks to the network.
//!
//! It runs after findings are final (suppressed, deduplicated, sorted) and only when
//! the command line asks (`--validate`, `keygate revoke`): nothing read from a
//! scanned repository reaches this module's settings. [`run`] asks each key's
//! provider once per distinct key, at most [`IN_FLIGHT`] requests at a time, and
//! writes a [`Validation`] on every finding; the reporters come next. Keys are sent
//! only to the provider's documented HTTPS endpoint ([`providers::PROVIDERS`]), or
//! where `--endpoint` / `KEYGATE_ENDPOINT_<PROVIDER>` point it.

pub mod aws;
pub mod http;
pub mod providers;
pub mod revoke;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use crate::finding::{redact_all, Finding, Validation};
use http::{Client, Request};
use providers::{Check, PROVIDERS};

/// Requests in flight at most.
pub const IN_FLIGHT: usize = 8;

/// Seconds a request may take by default (`--validation-timeout`).
pub const DEFAULT_TIMEOUT_SECS: f64 = 5.0;

/// Longest `detail`, in characters.
const DETAIL_CHARS: usize = 120;

/// Where each provider's requests go: its documented endpoint unless the command
/// line or the environment says otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    overrides: BTreeMap<&'static str, String>,
}

impl Endpoints {
    /// `--endpoint PROVIDER=URL` values, then `KEYGATE_ENDPOINT_<PROVIDER>` from
    /// `env` for providers the command line left alone.
    pub fn resolve(
        cli: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Endpoints> {
        let mut overrides = BTreeMap::new();
        for value in cli {
            let Some((name, url)) = value.split_once('=') else {
                bail!("--endpoint takes `PROVIDER=URL`, not `{value}`");
            };
            let provider = known(name.trim())?;
            let url =
                check_url(url.trim()).with_context(|| format!("--endpoint `{}`", provider.name))?;
            overrides.insert(provider.name, url);
        }
        for provider in PROVIDERS {
            if overrides.contains_key(provider.name) {
                continue;
            }
            let var = format!("KEYGATE_ENDPOINT_{}", provider.name.to_ascii_uppercase());
            if let Some(url) = env(&var).filter(|v| !v.trim().is_empty()) {
                let url = check_url(url.trim()).with_context(|| format!("`{var}`"))?;
                overrides.insert(provider.name, url);
            }
        }
        Ok(Endpoints { overrides })
    }

    /// The scheme, host and optional path prefix that `provider`'s paths go after.
    pub fn base(&self, provider: &str) -> Option<String> {
        if let Some(url) = self.overrides.get(provider) {
            return Some(url.clone());
        }
        providers::provider(provider).map(|p| p.base.to_string())
    }
}

fn known(name: &str) -> anyhow::Result<&'static providers::Provider> {
    providers::provider(name).with_context(|| {
        let names: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
        format!(
            "no check or revocation sends keys to a provider called `{name}`; providers: {}",
            names.join(", ")
        )
    })
}

/// A custom endpoint: `https://HOST[:PORT][/PREFIX]`, or plain `http://` to a
/// loopback address only (a local mock, a test). Keys must not cross a network in
/// clear text.
fn check_url(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("`{url}` is not a URL (`https://HOST[:PORT][/PATH]`)"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        bail!("`{url}` needs a host, and no user name or password");
    }
    if rest.contains(['?', '#']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("`{url}` may not hold a query, a fragment or spaces");
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(authority) => {}
        "http" => bail!(
            "`{url}` is plain HTTP to a host that is not this machine: keys are sent over \
             HTTPS only (plain HTTP is allowed to 127.0.0.1, ::1 and localhost)"
        ),
        other => bail!("`{url}`: scheme `{other}` is not HTTPS"),
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `127.0.0.1`, `[::1]` or `localhost`, with or without a port.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How a run validates: from the command line and the environment only.
#[derive(Clone, Debug)]
pub struct ValidateSettings {
    pub timeout: Duration,
    pub endpoints: Endpoints,
}

/// One request to make: a key (or an AWS pair) for one check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Job {
    Probe {
        probe: providers::Probe,
        key: String,
    },
    Aws {
        key_id: String,
        secret: String,
    },
}

impl Job {
    /// The secrets a detail must never show.
    fn secrets(&self) -> Vec<&str> {
        match self {
            Job::Probe { key, .. } => vec![key],
            Job::Aws { key_id, secret } => vec![key_id, secret],
        }
    }
}

/// Validates every active finding of `findings` in place; `custom` are the ids of
/// the configuration's own rules, which are never validated.
pub fn run(findings: &mut [Finding], settings: &ValidateSettings, custom: &HashSet<String>) {
    let active: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].suppression.is_none())
        .collect();
    let aws_pairs: HashMap<usize, Option<(String, String)>> = aws::pair(
        findings,
        &active
            .iter()
            .copied()
            .filter(|&i| !custom.contains(&findings[i].rule_id))
            .collect::<Vec<_>>(),
    )
    .into_iter()
    .collect();
    let mut jobs: Vec<Job> = Vec::new();
    let mut job_of: HashMap<Job, usize> = HashMap::new();
    let mut plan: Vec<(usize, Result<usize, Validation>)> = Vec::new();
    for &index in &active {
        let finding = &findings[index];
        let planned = if custom.contains(&finding.rule_id) {
            Err(providers::unknown("custom rules are never validated"))
        } else {
            match providers::check_for(&finding.rule_id) {
                Check::None(why) => Err(providers::unknown(why)),
                Check::Probe(probe) => Ok(Job::Probe {
                    probe,
                    key: finding.secret.clone(),
                }),
                Check::AwsPair => match aws_pairs.get(&index).cloned().flatten() {
                    Some((key_id, _)) if key_id.starts_with("ASIA") => Err(providers::unknown(
                        "temporary credentials (ASIA…) need their session token to be checked",
                    )),
                    Some((key_id, secret)) => Ok(Job::Aws { key_id, secret }),
                    None if finding.rule_id == aws::KEY_ID_RULE => Err(providers::unknown(
                        "no AWS secret access key was found beside this key id",
                    )),
                    None => Err(providers::unknown(
                        "no AWS access key id was found beside this secret",
                    )),
                },
            }
        };
        let planned = planned.map(|job| {
            let next = jobs.len();
            *job_of.entry(job.clone()).or_insert_with(|| {
                jobs.push(job);
                next
            })
        });
        plan.push((index, planned));
    }
    let answers = ask(&jobs, settings);
    for (index, planned) in plan {
        findings[index].validation = Some(match planned {
            Ok(job) => answers[job].clone(),
            Err(validation) => validation,
        });
    }
}

/// Runs every job, [`IN_FLIGHT`] at a time, and returns their answers in order.
fn ask(jobs: &[Job], settings: &ValidateSettings) -> Vec<Validation> {
    let client = Client::new(settings.timeout);
    let next = AtomicUsize::new(0);
    let answers: Mutex<Vec<Option<Validation>>> = Mutex::new(vec![None; jobs.len()]);
    let workers = IN_FLIGHT.min(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(index) else { break };
                let answer = ask_one(&client, job, &settings.endpoints);
                if let Ok(mut answers) = answers.lock() {
                    answers[index] = Some(answer);
                }
            });
        }
    });
    answers
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.unwrap_or_else(|| providers::unknown("the check did not finish")))
        .collect()
}

fn ask_one(client: &Client, job: &Job, endpoints: &Endpoints) -> Validation {
    let (provider, request): (&str, Request) = match job {
        Job::Probe { probe, key } => {
            let Some(base) = endpoints.base(probe.provider) else {
                return providers::unknown("no endpoint for this provider");
            };
            (probe.provider, providers::request(probe, &base, key))
        }
        Job::Aws { key_id, secret } => {
            let Some(base) = endpoints.base("aws") else {
                return providers::unknown("no endpoint for AWS");
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            ("aws", aws::request(&base, key_id, secret, now))
        }
    };
    let reply = client.send_with_retry(&request);
    let mut validation = providers::judge(provider, &reply);
    validation.detail = scrub(&validation.detail, &job.secrets());
    validation
}

/// A detail as it may be shown: no secret in it (an endpoint could echo one back),
/// no control characters, and short.
pub fn scrub(detail: &str, secrets: &[&str]) -> String {
    let out = redact_all(detail, secrets.iter().copied().filter(|s| s.len() >= 4));
    let mut cleaned: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(DETAIL_CHARS)
        .collect();
    if out.chars().count() > DETAIL_CHARS {
        cleaned.push('…');
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn endpoints_take_https_anywhere_and_http_on_loopback_only() {
        let ok = |url: &str| Endpoints::resolve(&[format!("gitlab={url}")], none);
        assert_eq!(
            ok("https://gitlab.example.com/").unwrap().base("gitlab"),
            Some("https://gitlab.example.com".into())
        );
        assert!(ok("http://127.0.0.1:8080").is_ok());
        assert!(ok("http://[::1]:8080").is_ok());
        assert!(ok("http://localhost:1").is_ok());
        assert!(ok("http://example.com").is_err());
        assert!(ok("http://127.0.0.1.example.com").is_err());
        assert!(ok("ftp://127.0.0.1").is_err());
        assert!(ok("https://user:pw@example.com").is_err());
        assert!(ok("https://example.com/?q=1").is_err());
        assert!(Endpoints::resolve(&["nowhere=https://x".into()], none).is_err());
        assert!(Endpoints::resolve(&["openai".into()], none).is_err());
    }

    #[test]
    fn the_command_line_wins_over_the_environment() {
        let env = |var: &str| match var {
            "KEYGATE_ENDPOINT_OPENAI" => Some("https://env.example".to_string()),
            "KEYGATE_ENDPOINT_GITHUB" => Some("https://ghe.example/api/v3".to_string()),
            _ => None,
        };
        let endpoints = Endpoints::resolve(&["openai=https://cli.example".into()], env).unwrap();
        assert_eq!(
            endpoints.base("openai").as_deref(),
            Some("https://cli.example")
        );
        assert_eq!(
            endpoints.base("github").as_deref(),
            Some("https://ghe.example/api/v3")
        );
        assert_eq!(
            endpoints.base("stripe").as_deref(),
            Some("https://api.stripe.com")
        );
    }

    #[test]
    fn details_never_show_the_secret() {
        let secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";
        let detail = scrub(&format!("hello `{secret}`\x1b[2J"), &[secret]);
        assert!(!detail.contains(secret));
        assert!(!detail.contains('\x1b'));
        assert!(scrub(&"x".repeat(500), &[]).chars().count() <= DETAIL_CHARS + 1);
    }
}
