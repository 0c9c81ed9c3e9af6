//! The one HTTP client keygate has: blocking, rustls, no redirects, bounded in time
//! and in what it reads back.
//!
//! Validators and revokers describe a [`Request`]; [`Client::send`] turns it into a
//! [`Reply`], which is either the provider's answer (status and a bounded body) or
//! why none came. Redirects are never followed, so a key is only ever sent to the
//! URL that [`super::Endpoints`] chose. Proxies come from the environment
//! (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), as `ureq` reads them.

use std::time::Duration;

/// Bytes of an answer's body read at most: enough for every JSON answer the checks
/// read, little enough that a hostile endpoint cannot fill memory.
const BODY_LIMIT: u64 = 64 * 1024;

/// HTTP methods the checks use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One request, fully described.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// Content type and bytes, for a request with a body.
    pub body: Option<(&'static str, Vec<u8>)>,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The server answered with this status.
    Answer {
        status: u16,
        body: String,
        /// GitHub-style `x-ratelimit-remaining: 0`: a 403 that means "slow down".
        rate_limited: bool,
    },
    /// No answer: the request timed out.
    Timeout,
    /// No answer: a connection, TLS, DNS or protocol failure.
    Failed(String),
}

impl Reply {
    /// Worth one more try: a server error or a timeout.
    fn is_transient(&self) -> bool {
        match self {
            Reply::Answer { status, .. } => *status >= 500,
            Reply::Timeout => true,
            Reply::Failed(_) => false,
        }
    }
}

/// A blocking client with one time limit for each whole request.
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("keygate/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
        }
    }

    /// Sends `request`, and once more if the first answer was a server error or a
    /// timeout.
    pub fn send_with_retry(&self, request: &Request) -> Reply {
        let first = self.send(request);
        if first.is_transient() {
            self.send(request)
        } else {
            first
        }
    }

    /// Sends `request` once.
    pub fn send(&self, request: &Request) -> Reply {
        let result = match (request.method, &request.body) {
            (Method::Get, _) => {
                let mut builder = self.agent.get(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                builder.call()
            }
            (Method::Delete, _) => {
                let mut builder = self.agent.delete(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                builder.call()
            }
            (Method::Post, body) => {
                let mut builder = self.agent.post(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                match body {
                    Some((content_type, bytes)) => builder
                        .header("content-type", *content_type)
                        .send(&bytes[..]),
                    None => builder.send_empty(),
                }
            }
        };
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let rate_limited = response
                    .headers()
                    .get("x-ratelimit-remaining")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim() == "0");
                // A body that cannot be read whole still leaves the status to judge by.
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(BODY_LIMIT)
                    .read_to_string()
                    .unwrap_or_default();
                Reply::Answer {
                    status,
                    body,
                    rate_limited,
                }
            }
            Err(err) => failure(&err),
        }
    }
}

/// A failed request as a reply. The message names the kind of failure only: an
/// error's text can quote the URL, and a custom endpoint's URL is the user's own.
fn failure(err: &ureq::Error) -> Reply {
    match err {
        ureq::Error::Timeout(_) => Reply::Timeout,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Reply::Timeout,
        ureq::Error::HostNotFound => Reply::Failed("host not found".into()),
        ureq::Error::ConnectionFailed => Reply::Failed("connection failed".into()),
        ureq::Error::Io(io) => Reply::Failed(format!("network error ({})", io.kind())),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => Reply::Failed("TLS error".into()),
        ureq::Error::InvalidProxyUrl => Reply::Failed("the proxy URL is not valid".into()),
        _ => Reply::Failed("request failed".into()),
    }
}
