//! AWS: an access key id and its secret, found together, checked with STS
//! `GetCallerIdentity` signed by Signature Version 4.
//!
//! An AWS key is two findings: the id (`AKIA…`) and the secret. [`pair`] matches each
//! of them with the nearest finding of the other kind in the same file (or blob);
//! [`request`] signs one `GetCallerIdentity` call with the pair, which needs no
//! permission and changes nothing. `super` sends it and `providers::judge` reads it.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::http::{Method, Request};
use crate::finding::Finding;

pub const KEY_ID_RULE: &str = "aws.access-key-id";
pub const SECRET_RULE: &str = "aws.secret-access-key";

const REGION: &str = "us-east-1";
const SERVICE: &str = "sts";
const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// For each finding of `findings` (by index), the AWS key id and secret it is checked
/// with, when it is one half of a pair whose other half stands in the same file.
pub fn pair(findings: &[Finding], candidates: &[usize]) -> Vec<(usize, Option<(String, String)>)> {
    let same_place = |a: &Finding, b: &Finding| {
        a.location.path == b.location.path
            && a.commit.as_ref().map(|c| &c.id) == b.commit.as_ref().map(|c| &c.id)
    };
    let distance = |a: &Finding, b: &Finding| a.location.start_byte.abs_diff(b.location.start_byte);
    candidates
        .iter()
        .map(|&index| {
            let this = &findings[index];
            let other_rule = match this.rule_id.as_str() {
                KEY_ID_RULE => SECRET_RULE,
                SECRET_RULE => KEY_ID_RULE,
                _ => return (index, None),
            };
            let nearest = candidates
                .iter()
                .map(|&i| &findings[i])
                .filter(|f| f.rule_id == other_rule && same_place(f, this))
                .min_by_key(|f| distance(f, this));
            let pair = nearest.map(|other| {
                if this.rule_id == KEY_ID_RULE {
                    (this.secret.clone(), other.secret.clone())
                } else {
                    (other.secret.clone(), this.secret.clone())
                }
            });
            (index, pair)
        })
        .collect()
}

/// A signed STS `GetCallerIdentity` request to `base` (`https://sts.amazonaws.com`
/// unless `--endpoint aws=URL`), at `now` (seconds since the epoch).
pub fn request(base: &str, key_id: &str, secret: &str, now: u64) -> Request {
    let host = authority(base);
    let amz_date = amz_date(now);
    let headers = [
        ("content-type", CONTENT_TYPE.to_string()),
        ("host", host),
        ("x-amz-date", amz_date.clone()),
    ];
    let authorization = authorization(
        "POST",
        "/",
        &headers,
        BODY.as_bytes(),
        key_id,
        secret,
        &amz_date,
        REGION,
        SERVICE,
    );
    Request {
        method: Method::Post,
        url: format!("{base}/"),
        headers: vec![("x-amz-date", amz_date), ("authorization", authorization)],
        body: Some((CONTENT_TYPE, BODY.as_bytes().to_vec())),
    }
}

/// The `Authorization` header of a SigV4 request. `headers` are the signed ones, by
/// lower-case name, sorted.
#[allow(clippy::too_many_arguments)]
fn authorization(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    key_id: &str,
    secret: &str,
    amz_date: &str,
    region: &str,
    service: &str,
) -> String {
    let date = &amz_date[..8];
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{method}\n{path}\n\n{canonical_headers}\n{signed_headers}\n{}",
        hex(&Sha256::digest(body))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, date, region, service);
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed_headers}, \
         Signature={signature}"
    )
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `host` header a client sends for `base`: its authority, without the
/// scheme's default port.
fn authority(base: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host = rest.split('/').next().unwrap_or(rest);
    let default = if scheme == "https" { ":443" } else { ":80" };
    host.strip_suffix(default).unwrap_or(host).to_string()
}

/// `YYYYMMDDTHHMMSSZ` for `secs` since the epoch, in UTC.
fn amz_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = crate::dates::civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // AWS's own documentation example credentials, not a key. keygate:allow
    const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"; // keygate:allow

    #[test]
    fn dates_are_utc_and_compact() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }

    /// The signing key of AWS's "derive a signing key" documentation example.
    #[test]
    fn signing_key_matches_the_documented_example() {
        assert_eq!(
            hex(&signing_key(DOC_SECRET, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    /// The `get-vanilla` case of AWS's Signature Version 4 test suite.
    #[test]
    fn signature_matches_the_test_suite() {
        let headers = [
            ("host", "example.amazonaws.com".to_string()),
            ("x-amz-date", "20150830T123600Z".to_string()),
        ];
        let auth = authorization(
            "GET",
            "/",
            &headers,
            b"",
            "AKIDEXAMPLE",
            DOC_SECRET,
            "20150830T123600Z",
            "us-east-1",
            "service",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn host_drops_default_ports_only() {
        assert_eq!(authority("https://sts.amazonaws.com"), "sts.amazonaws.com");
        assert_eq!(authority("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(authority("https://h:443/prefix"), "h");
    }
}
