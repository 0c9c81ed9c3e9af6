//! SARIF 2.1.0 output, shaped for GitHub code scanning.
//!
//! One run: `tool.driver` describes every rule that fired (help on revoking and
//! rotating the key, `security-severity`, CWE-798 tags), each result has one location
//! whose URI is relative to the repository root (`%SRCROOT%`) and a
//! `primaryLocationLineHash` derived from rule, path and secret, so an alert keeps its
//! identity when the line changes or no longer exists (history findings). A key in
//! a commit, tag or pull request message is located at a name for that text
//! (`COMMIT_MSG`, see [`message_uri`]), its commit or tag in the properties. Suppressed
//! findings, when `--include-suppressed` lets them through, carry `suppressions`, so
//! that GitHub closes their alerts instead of losing the dismissal. The document stays
//! inside GitHub's upload limits: results beyond them are cut, with a warning. No full
//! secret is ever written here, whatever `--show-secrets` says.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::json;
use serde_sarif::sarif::{
    self, ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    ResultLevel, Run, RunAutomationDetails, Sarif, Tool, ToolComponent, VersionControlDetails,
};
use sha2::{Digest, Sha256};

use super::Report;
use crate::finding::{short_id, Finding, MessageOf, Status, Suppression};
use crate::rules::{Rule, Severity};
use crate::settings::SourceContext;

/// The schema GitHub and the SARIF validators expect (the OASIS final text, errata 01).
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base every result URI is relative to; GitHub maps it to the checkout.
const SRCROOT: &str = "%SRCROOT%";

/// GitHub's limits for one uploaded file
/// (docs.github.com, "SARIF support for code scanning", "Validating your SARIF file").
pub const MAX_RESULTS: usize = 25_000;
/// GitHub refuses uploads above 10 MB once gzipped; keep a margin for its own count.
pub const MAX_GZIP_BYTES: usize = 10_000_000 - 64 * 1024;

/// Writes the SARIF document of `report`.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let limits = Limits {
        results: MAX_RESULTS,
        gzip_bytes: MAX_GZIP_BYTES,
    };
    let fitted = fit(report, limits)?;
    if let Some(cut) = &fitted.cut {
        eprintln!("keygate: warning: {}", cut.message());
    }
    serde_json::to_writer_pretty(&mut *out, &fitted.document).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// How much of a report one SARIF file may hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub results: usize,
    pub gzip_bytes: usize,
}

/// Results left out to stay inside the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub kept: usize,
    pub total: usize,
    pub reason: &'static str,
}

impl Cut {
    fn message(&self) -> String {
        format!(
            "the SARIF file holds {} of {} findings: {}; the rest are left out so that \
             GitHub accepts the upload (use `--format json` for all of them)",
            self.kept, self.total, self.reason
        )
    }
}

/// A document that fits, and what was cut from it.
pub struct Fitted {
    pub document: Sarif,
    pub cut: Option<Cut>,
}

/// Builds the document with as many findings as `limits` allow: findings that fail
/// the scan before suppressed ones, then the most severe, each group in report order.
pub fn fit(report: &Report, limits: Limits) -> io::Result<Fitted> {
    let total = report.findings.len();
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| {
        let f = &report.findings[i];
        (f.suppression.is_some(), std::cmp::Reverse(f.severity), i)
    });
    let mut keep = total.min(limits.results);
    let mut reason = "GitHub takes at most 25,000 results a run";
    loop {
        let mut chosen = order[..keep].to_vec();
        chosen.sort_unstable();
        let cut = (keep < total).then_some(Cut {
            kept: keep,
            total,
            reason,
        });
        let document = build(report, &chosen, cut.as_ref());
        let size = gzipped_len(&document)?;
        if size <= limits.gzip_bytes {
            return Ok(Fitted { document, cut });
        }
        if keep == 0 {
            return Err(io::Error::other(format!(
                "the SARIF document without results is {size} bytes gzipped, above GitHub's limit"
            )));
        }
        reason = "GitHub takes at most 10 MB of gzipped SARIF";
        // Results are of similar size: shrink in proportion, with a margin so that
        // one or two more rounds at most are needed.
        let ratio = limits.gzip_bytes as f64 / size as f64;
        keep = ((keep as f64 * ratio * 0.95) as usize).min(keep - 1);
    }
}

/// The size of `document` as written, gzipped at gzip's default level, counted as it
/// streams so that neither the text nor the compressed bytes are held in memory.
fn gzipped_len(document: &Sarif) -> io::Result<usize> {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let encoder = flate2::write::GzEncoder::new(Count(0), flate2::Compression::default());
    let mut buffered = io::BufWriter::new(encoder);
    serde_json::to_writer_pretty(&mut buffered, document).map_err(io::Error::other)?;
    buffered.write_all(b"\n")?;
    let encoder = buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(encoder.finish()?.0)
}

/// The whole document for the findings at `chosen` (indices into the report).
fn build(report: &Report, chosen: &[usize], cut: Option<&Cut>) -> Sarif {
    let source = &report.output.source;
    let findings: Vec<&Finding> = chosen.iter().map(|&i| &report.findings[i]).collect();

    // Rules in id order, so that `ruleIndex` does not depend on which finding came first.
    let mut fired: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    fired.sort_unstable();
    fired.dedup();
    let rule_index: HashMap<&str, usize> =
        fired.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let rules: Vec<ReportingDescriptor> = fired
        .iter()
        .map(|&id| match report.rules.find(id) {
            Some(rule) => descriptor(rule),
            None => unknown_descriptor(id, &findings),
        })
        .collect();

    let cwd = std::env::current_dir().ok();
    let mut occurrences: HashMap<String, u64> = HashMap::new();
    let results: Vec<sarif::Result> = findings
        .iter()
        .map(|f| {
            // A member is located at its archive: the file GitHub can show.
            let uri = match &f.message {
                Some(of) => Uri {
                    text: message_uri(of).to_string(),
                    relative: true,
                },
                None => artifact_uri(f.location.file(), source, cwd.as_deref()),
            };
            // The same key in two messages is two alerts, each kept from run to run.
            let place = match (&f.message, &f.commit) {
                (Some(of), commit) => {
                    let id = of.tag().map(|t| t.id.as_str());
                    let id = id.or(commit.as_ref().map(|c| c.id.as_str()));
                    format!("{}@{}", uri.text, id.unwrap_or_default())
                }
                (None, _) => uri.text.clone(),
            };
            let hash = line_hash(&f.rule_id, &place, &f.secret);
            let n = occurrences.entry(hash.clone()).or_default();
            *n += 1;
            result(
                f,
                rule_index[f.rule_id.as_str()],
                uri,
                format!("{hash}:{n}"),
            )
        })
        .collect();

    let driver = ToolComponent::builder()
        .name("keygate")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .organization("keygate")
        .rules(rules)
        .build();

    // §3.14: one run; `columnKind` says that columns count code points.
    let mut run = Run::builder()
        .tool(Tool::from(driver))
        .results(results)
        .column_kind(json!("unicodeCodePoints"))
        .automation_details(
            RunAutomationDetails::builder()
                .id(format!("keygate/{}/", source.kind))
                .build(),
        )
        .build();
    // Where `%SRCROOT%` was (§3.14.14) and which commit of which repository it held.
    if let Some(root) = &source.root {
        run.original_uri_base_ids = Some(BTreeMap::from([(
            SRCROOT.to_string(),
            ArtifactLocation::builder().uri(dir_file_uri(root)).build(),
        )]));
        run.version_control_provenance = provenance(root).map(|p| vec![p]);
    }
    if let Some(cut) = cut {
        run.invocations = Some(vec![Invocation::builder()
            .execution_successful(true)
            .tool_execution_notifications(vec![Notification::builder()
                .message(Message::from(format!("{}.", cut.message()).as_str()))
                .level(json!("warning"))
                .build()])
            .build()]);
    }

    Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// A rule as GitHub shows it on an alert (§3.49 `reportingDescriptor`): what the key
/// is, how to get rid of it.
fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let syntax = &rule.syntax;
    let revoke = syntax
        .revoke_url
        .as_deref()
        .map(|url| format!("Revoke it at {url} and create a new one"))
        .unwrap_or_else(|| "Revoke it with the service that issued it and create a new one".into());
    let text = format!(
        "{description}\n\nA key that reached a git repository must be treated as leaked, even \
         if the commit is removed later: clones, forks and caches keep it. {revoke}; check the \
         service's usage logs for requests you did not make. Then remove the key from the code \
         and load it at run time from an environment variable or a secret store (in GitHub \
         Actions, an encrypted secret); keep local `.env` files in `.gitignore`, and run \
         `keygate install` so that the pre-commit hook stops the next one. If the match is not \
         a real key, add `keygate:allow` to the line or record it in a baseline.",
        description = syntax.description.trim(),
    );
    let revoke_md = syntax
        .revoke_url
        .as_deref()
        .map(|url| format!("Revoke it at <{url}> and create a new one"))
        .unwrap_or_else(|| "Revoke it with the service that issued it and create a new one".into());
    let markdown = format!(
        "## {name}\n\n{description}\n\n### Revoke and rotate\n\nA key that reached a git \
         repository must be treated as leaked, even if the commit is removed later: clones, \
         forks and caches keep it.\n\n1. {revoke_md}.\n2. Put the new key where the \
         application reads it at run time (environment variable, secret store, GitHub \
         Actions encrypted secret).\n3. Check the service's usage logs for requests you did \
         not make.\n\n### Keep keys out of code\n\n- Read keys from the environment, never \
         from a literal in source.\n- Keep local `.env` files in `.gitignore`.\n- Run \
         `keygate install` so that the pre-commit hook stops the next key before it is \
         committed.\n- If the match is not a real key, add `keygate:allow` to the line or \
         record it in a baseline.\n",
        name = syntax.name,
        description = syntax.description.trim(),
    );
    let mut tags = base_tags();
    for tag in &syntax.tags {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    let precision = if syntax.generic { "medium" } else { "high" };
    ReportingDescriptor::builder()
        .id(syntax.id.clone())
        .name(pascal_case(&syntax.id))
        .short_description(
            MultiformatMessageString::builder()
                .text(sentence(&syntax.name))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(sentence(syntax.description.trim()))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(text)
                .markdown(markdown)
                .build(),
        )
        .help_uri(
            syntax
                .revoke_url
                .clone()
                .unwrap_or_else(|| env!("CARGO_PKG_REPOSITORY").to_string()),
        )
        .default_configuration(default_configuration(syntax.severity))
        .properties(descriptor_properties(tags, precision, syntax.severity))
        .build()
}

/// A rule the rule set no longer holds (a finding built elsewhere): described from the
/// finding itself, so that the document still validates.
fn unknown_descriptor(id: &str, findings: &[&Finding]) -> ReportingDescriptor {
    let f = findings
        .iter()
        .find(|f| f.rule_id == id)
        .expect("a fired rule has a finding");
    ReportingDescriptor::builder()
        .id(id)
        .name(pascal_case(id))
        .short_description(
            MultiformatMessageString::builder()
                .text(sentence(&f.rule_name))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(sentence(&f.rule_name))
                .build(),
        )
        .help_uri(
            f.revoke_url
                .clone()
                .unwrap_or_else(|| env!("CARGO_PKG_REPOSITORY").to_string()),
        )
        .default_configuration(default_configuration(f.severity))
        .properties(descriptor_properties(base_tags(), "medium", f.severity))
        .build()
}

/// The tags every rule carries, which GitHub uses to file alerts as security ones.
fn base_tags() -> Vec<String> {
    vec![
        "security".to_string(),
        "secret".to_string(),
        "external/cwe/cwe-798".to_string(),
    ]
}

/// `defaultConfiguration` (§3.49.14): the level a rule's results take.
fn default_configuration(severity: Severity) -> ReportingConfiguration {
    ReportingConfiguration::builder()
        .level(json!(level(severity).to_string()))
        .build()
}

/// A rule's `properties`: tags, and the `precision` and `security-severity` that
/// GitHub reads to rank alerts.
fn descriptor_properties(tags: Vec<String>, precision: &str, severity: Severity) -> PropertyBag {
    PropertyBag::builder()
        .tags(tags)
        .additional_properties(BTreeMap::from([
            ("precision".to_string(), json!(precision)),
            (
                "security-severity".to_string(),
                json!(security_severity(severity)),
            ),
        ]))
        .build()
}

/// One result (§3.27): where the key is, never what it is; `partialFingerprints`
/// (§3.27.17) carry GitHub's `primaryLocationLineHash`.
fn result(f: &Finding, rule_index: usize, uri: Uri, line_hash: String) -> sarif::Result {
    let loc = &f.location;
    // Lines inside a member mean nothing in the archive's own bytes: the region is
    // the archive's first line, and the member's place goes in the message.
    let region = match &loc.member {
        Some(_) => Region::builder().start_line(1).build(),
        None => Region::builder()
            .start_line(to_i64(loc.line))
            .start_column(to_i64(loc.column))
            .end_line(to_i64(loc.end_line))
            .end_column(to_i64(loc.end_column))
            .build(),
    };
    let artifact = if uri.relative {
        ArtifactLocation::builder()
            .uri(uri.text)
            .uri_base_id(SRCROOT)
            .build()
    } else {
        ArtifactLocation::builder().uri(uri.text).build()
    };
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact)
                .region(region)
                .build(),
        )
        .build();
    let article = if starts_with_vowel(&f.rule_name) {
        "An"
    } else {
        "A"
    };
    let message = match &f.commit {
        Some(commit) => format!(
            "{article} {} was committed here in {}; revoke it, rotate it and load the new one \
             from the environment or a secret store.",
            f.rule_name,
            short_id(&commit.id)
        ),
        None => format!(
            "{article} {} is written here; revoke it, rotate it and load the new one from the \
             environment or a secret store.",
            f.rule_name
        ),
    };
    let message = match (&f.message, &f.commit) {
        (Some(MessageOf::Tag(tag)), _) => format!(
            "{article} {} is in the message of tag `{}` ({}); revoke it and rotate it.",
            f.rule_name,
            tag.name,
            short_id(&tag.id)
        ),
        (Some(_), Some(commit)) => format!(
            "{article} {} is in the message of commit {}; revoke it and rotate it.",
            f.rule_name,
            short_id(&commit.id)
        ),
        (Some(of), None) => format!(
            "{article} {} is in {}; revoke it and rotate it.",
            f.rule_name,
            of.describe()
        ),
        (None, _) => message,
    };
    let message = match &loc.member {
        Some(member) => format!(
            "{message} It is in the archive member `{member}`, line {}, column {}.",
            loc.line, loc.column
        ),
        None => message,
    };
    let message = if f.decoded.is_empty() {
        message
    } else {
        let layers: Vec<&str> = f.decoded.iter().map(|l| l.as_str()).collect();
        format!("{message} It is encoded here ({}).", layers.join(", then "))
    };
    let mut properties = BTreeMap::from([
        ("secretRedacted".to_string(), json!(f.redacted())),
        ("severity".to_string(), json!(f.severity.as_str())),
        ("entropy".to_string(), json!(f.entropy)),
    ]);
    if !f.decoded.is_empty() {
        properties.insert("decoded".into(), json!(f.decoded));
    }
    if let Some(member) = &loc.member {
        properties.insert("archiveMember".into(), json!(member));
        properties.insert("memberLine".into(), json!(loc.line));
        properties.insert("memberColumn".into(), json!(loc.column));
    }
    if let Some(validation) = &f.validation {
        properties.insert("validation".into(), json!(validation));
    }
    if let Some(of) = &f.message {
        properties.insert("origin".into(), json!("message"));
        properties.insert("message".into(), json!(of.kind()));
        if let Some(tag) = of.tag() {
            properties.insert("tag".into(), json!(tag.name));
            properties.insert("tagId".into(), json!(tag.id));
        }
    }
    if let Some(commit) = &f.commit {
        properties.insert("commit".into(), json!(commit.id));
        properties.insert("author".into(), json!(commit.author));
        properties.insert("email".into(), json!(commit.email));
        properties.insert("date".into(), json!(commit.date));
        properties.insert("commitSummary".into(), json!(commit.summary));
    }
    let mut out = sarif::Result::builder()
        .rule_id(f.rule_id.clone())
        .rule_index(to_i64(rule_index as u64))
        .level(match &f.validation {
            // A key its provider accepts is an error whatever the rule's severity.
            Some(v) if v.status == Status::Live => ResultLevel::Error,
            _ => level(f.severity),
        })
        .message(Message::from(message.as_str()))
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([
            ("primaryLocationLineHash".to_string(), line_hash),
            ("keygateFingerprint/v1".to_string(), f.fingerprint.clone()),
        ]))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    if let Some(suppression) = f.suppression {
        out.suppressions = Some(vec![suppression_of(suppression)]);
    }
    out
}

/// §3.35: `inSource` for comments in the file, `external` for baseline and config.
fn suppression_of(suppression: Suppression) -> sarif::Suppression {
    let (kind, justification) = match suppression {
        Suppression::Inline => (
            "inSource",
            "Allowed by a `keygate:allow` comment on the line.",
        ),
        Suppression::Baseline => ("external", "Recorded as accepted in the keygate baseline."),
        Suppression::Config => (
            "external",
            "Allowed by an allowlist of the keygate configuration.",
        ),
    };
    sarif::Suppression::builder()
        .kind(json!(kind))
        .status(json!("accepted"))
        .justification(justification)
        .build()
}

/// GitHub's levels: a leaked live credential is an error unless the rule says it is
/// minor.
fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

/// GitHub's `security-severity`, a number in a string: above 9 is critical, 7 to 8.9
/// high, 4 to 6.9 medium, below that low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// Where a result in a message is located. GitHub code scanning takes only results
/// with a file's URI, and shows one that the repository does not hold as a path with
/// no source to display; these names say what the text is (Gerrit shows a change's
/// commit message as `/COMMIT_MSG` likewise), and the result's properties name the
/// commit or tag.
fn message_uri(of: &MessageOf) -> &'static str {
    match of {
        MessageOf::Commit => "COMMIT_MSG",
        MessageOf::Tag(_) => "TAG_MSG",
        MessageOf::PullRequestTitle | MessageOf::PullRequestBody => "PULL_REQUEST",
    }
}

/// `sha256(rule ":" path ":" secret)`, first 16 hex digits: the alert's identity does
/// not depend on the line's text, so it survives edits around the key and history
/// findings on lines that exist no more keep their alert.
fn line_hash(rule_id: &str, uri: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in [rule_id, uri, secret].iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A result's artifact URI: relative to `%SRCROOT%` when the file is inside the root.
#[derive(Debug, PartialEq, Eq)]
struct Uri {
    text: String,
    relative: bool,
}

/// Turns a finding's path into a URI relative to the source root: git paths are
/// already, folder paths may start with `./` or `../` or be absolute.
fn artifact_uri(path: &str, source: &SourceContext, cwd: Option<&Path>) -> Uri {
    if source.paths_relative_to_root {
        let rel = normalize(Path::new(path));
        return Uri {
            text: encode_path(&rel),
            relative: true,
        };
    }
    let given = Path::new(path);
    let absolute = match (given.is_absolute(), cwd) {
        (true, _) => normalize(given),
        (false, Some(cwd)) => normalize(&cwd.join(given)),
        (false, None) => normalize(given),
    };
    if let Some(root) = &source.root {
        if let Some(rel) = relative_to(&absolute, root) {
            return Uri {
                text: encode_path(&rel),
                relative: true,
            };
        }
    }
    if absolute.is_absolute() {
        return Uri {
            text: format!("file://{}", encode_path(&absolute)),
            relative: false,
        };
    }
    Uri {
        text: encode_path(&absolute),
        relative: true,
    }
}

/// `path` below `root`, also when one of them went through a symbolic link.
fn relative_to(path: &Path, root: &Path) -> Option<PathBuf> {
    if let Ok(rel) = path.strip_prefix(root) {
        return Some(rel.to_path_buf());
    }
    let parent = path.parent()?.canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    let rel = parent.strip_prefix(&root).ok()?;
    Some(rel.join(path.file_name()?))
}

/// Drops `.` and folds `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A path as a URI path: `/`-separated, every byte outside the unreserved set and
/// `/` percent-encoded (RFC 3986), so spaces, `#` and non-ASCII names stay valid.
fn encode_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The root folder as a `file://` URI ending in `/`, as `originalUriBaseIds` requires.
fn dir_file_uri(root: &Path) -> String {
    let mut uri = format!("file://{}", encode_path(root));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Where the scanned tree came from: the `origin` remote, the commit checked out and
/// its branch. Without a remote there is no URI that means anything to a reader, so
/// there is no provenance either.
fn provenance(root: &Path) -> Option<VersionControlDetails> {
    let repo = git2::Repository::discover(root).ok()?;
    let remote = repo.find_remote("origin").ok()?;
    let uri = repository_uri(remote.url().ok()?)?;
    let head = repo.head().ok();
    let mut details = VersionControlDetails::builder()
        .repository_uri(uri)
        .mapped_to(ArtifactLocation::builder().uri_base_id(SRCROOT).build())
        .build();
    if let Some(head) = &head {
        details.revision_id = head.peel_to_commit().ok().map(|c| c.id().to_string());
        if head.is_branch() {
            details.branch = head.shorthand().ok().map(str::to_string);
        }
    }
    Some(details)
}

/// A remote URL as an absolute URI without credentials: `git@host:owner/repo.git`
/// becomes `https://host/owner/repo`; `https://user:token@host/...` loses its user
/// part; local paths become `file://` URIs.
fn repository_uri(url: &str) -> Option<String> {
    let url = url.trim();
    let strip_git = |s: &str| s.strip_suffix(".git").unwrap_or(s).to_string();
    if let Some((scheme, rest)) = url.split_once("://") {
        let rest = match rest.split_once('/') {
            Some((authority, path)) => {
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                format!("{host}/{path}")
            }
            None => rest.rsplit_once('@').map_or(rest, |(_, h)| h).to_string(),
        };
        return match scheme {
            "https" | "http" => Some(strip_git(&format!("{scheme}://{rest}"))),
            "ssh" | "git" => {
                let (host, path) = rest.split_once('/')?;
                let host = host.split(':').next()?;
                Some(strip_git(&format!("https://{host}/{path}")))
            }
            "file" => Some(format!("file://{}", encode_path(Path::new(&rest)))),
            _ => None,
        };
    }
    if let Some((user_host, path)) = url.split_once(':') {
        if !user_host.contains('/') && !path.starts_with("//") && user_host.contains('@') {
            let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
            return Some(strip_git(&format!(
                "https://{host}/{}",
                path.trim_start_matches('/')
            )));
        }
    }
    let path = Path::new(url);
    if path.is_absolute() {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        return Some(format!("file://{}", encode_path(&path)));
    }
    None
}

/// `openai.project-key` → `OpenaiProjectKey`: SARIF wants rule names that read as
/// identifiers, distinct from the id.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// SARIF messages end with a period.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn starts_with_vowel(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(root: &str) -> SourceContext {
        SourceContext {
            root: Some(PathBuf::from(root)),
            paths_relative_to_root: false,
            kind: "files",
        }
    }

    /// `./`, bare, absolute and `..` paths of folder scans all become URIs relative to
    /// the root, escaped; a file outside the root keeps an absolute `file://` URI.
    #[test]
    fn folder_paths_become_root_relative_uris() {
        let source = files("/repo");
        let cwd = Some(Path::new("/repo"));
        let uri = |p| artifact_uri(p, &source, cwd).text;
        assert_eq!(uri("./src/a.py"), "src/a.py");
        assert_eq!(uri("src/a.py"), "src/a.py");
        assert_eq!(uri("/repo/src/a.py"), "src/a.py");
        assert_eq!(uri("./my dir/ä#.env"), "my%20dir/%C3%A4%23.env");
        let below = artifact_uri("../x", &source, Some(Path::new("/repo/sub")));
        assert_eq!(below.text, "x");
        let outside = artifact_uri("/elsewhere/k.txt", &source, cwd);
        assert_eq!(
            outside,
            Uri {
                text: "file:///elsewhere/k.txt".into(),
                relative: false
            }
        );
    }

    /// Git paths are already repository-relative, wherever keygate runs.
    #[test]
    fn git_paths_stay_as_they_are() {
        let source = SourceContext {
            root: Some(PathBuf::from("/repo")),
            paths_relative_to_root: true,
            kind: "range",
        };
        let uri = artifact_uri("config/app.env", &source, Some(Path::new("/somewhere")));
        assert_eq!(uri.text, "config/app.env");
        assert!(uri.relative);
    }

    /// SSH and HTTPS remotes become `https://` URIs without user or token.
    #[test]
    fn remote_urls_become_uris_without_credentials() {
        let cases = [
            ("git@github.com:acme/app.git", "https://github.com/acme/app"),
            (
                "ssh://git@github.com:22/acme/app.git",
                "https://github.com/acme/app",
            ),
            (
                "https://x-access-token:secret@github.com/acme/app.git",
                "https://github.com/acme/app",
            ),
            ("https://github.com/acme/app", "https://github.com/acme/app"),
        ];
        for (url, want) in cases {
            assert_eq!(repository_uri(url).as_deref(), Some(want), "{url}");
        }
        assert_eq!(repository_uri("relative/path"), None);
    }

    /// The line hash changes with rule, path or secret, and with nothing else.
    #[test]
    fn line_hash_depends_on_rule_path_and_secret_only() {
        let a = line_hash("r", "a.py", "s1");
        assert_eq!(a.len(), 16);
        assert_eq!(a, line_hash("r", "a.py", "s1"));
        assert_ne!(a, line_hash("r", "b.py", "s1"));
        assert_ne!(a, line_hash("r", "a.py", "s2"));
        assert_ne!(a, line_hash("q", "a.py", "s1"));
    }

    /// Rule names read as identifiers; descriptions end with a period.
    #[test]
    fn names_and_sentences() {
        assert_eq!(pascal_case("openai.project-key"), "OpenaiProjectKey");
        assert_eq!(sentence("A key"), "A key.");
        assert_eq!(sentence("A key."), "A key.");
    }

    fn finding(i: u64, severity: Severity, suppression: Option<Suppression>) -> Finding {
        let secret = format!("sk-proj-{i:040}");
        Finding {
            rule_id: "openai.project-key".into(),
            rule_name: "OpenAI project API key".into(),
            severity,
            location: crate::finding::Location {
                member: None,
                path: format!("dir{}/file{i}.env", i % 97),
                line: i + 1,
                column: 5,
                end_line: i + 1,
                end_column: 53,
                start_byte: 0,
                end_byte: 48,
            },
            fingerprint: crate::finding::fingerprint("openai.project-key", &secret),
            secret,
            entropy: 4.0,
            revoke_url: None,
            commit: None,
            context: String::new(),
            suppression,
            decoded: Vec::new(),
            validation: None,
            message: None,
        }
    }

    fn output() -> crate::settings::OutputSettings {
        crate::settings::OutputSettings {
            format: crate::cli::Format::Sarif,
            path: None,
            color: false,
            show_secrets: false,
            include_suppressed: true,
            progress: false,
            source: SourceContext {
                root: Some(PathBuf::from("/repo")),
                paths_relative_to_root: true,
                kind: "range",
            },
        }
    }

    fn result_count(document: &Sarif) -> usize {
        document.runs[0].results.as_ref().map_or(0, Vec::len)
    }

    /// Over the result limit, unsuppressed and severe findings stay, in report order.
    #[test]
    fn fit_keeps_active_and_severe_findings_first_within_the_result_limit() {
        let rules = crate::rules::RuleSet::builtin().unwrap();
        let output = output();
        let findings = vec![
            finding(0, Severity::Low, None),
            finding(1, Severity::High, Some(Suppression::Baseline)),
            finding(2, Severity::Medium, None),
            finding(3, Severity::Critical, None),
        ];
        let report = Report {
            findings: &findings,
            stats: Default::default(),
            rules: &rules,
            output: &output,
            notes: &[],
            inline_allows: None,
        };
        let fitted = fit(
            &report,
            Limits {
                results: 2,
                gzip_bytes: MAX_GZIP_BYTES,
            },
        )
        .unwrap();
        let cut = fitted.cut.unwrap();
        assert_eq!((cut.kept, cut.total), (2, 4));
        let doc = serde_json::to_value(&fitted.document).unwrap();
        let lines: Vec<i64> = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        // Critical (line 4) and medium (line 3), in report order.
        assert_eq!(lines, vec![3, 4]);
    }

    /// Over the gzipped size limit, results are cut until the document fits.
    #[test]
    fn fit_cuts_to_the_gzipped_size_limit() {
        let rules = crate::rules::RuleSet::builtin().unwrap();
        let output = output();
        let findings: Vec<Finding> = (0..2000)
            .map(|i| finding(i, Severity::High, None))
            .collect();
        let report = Report {
            findings: &findings,
            stats: Default::default(),
            rules: &rules,
            output: &output,
            notes: &[],
            inline_allows: None,
        };
        let whole = fit(
            &report,
            Limits {
                results: MAX_RESULTS,
                gzip_bytes: MAX_GZIP_BYTES,
            },
        )
        .unwrap();
        assert!(whole.cut.is_none());
        let limit = gzipped_len(&whole.document).unwrap() / 3;
        let fitted = fit(
            &report,
            Limits {
                results: MAX_RESULTS,
                gzip_bytes: limit,
            },
        )
        .unwrap();
        assert!(gzipped_len(&fitted.document).unwrap() <= limit);
        let cut = fitted.cut.unwrap();
        assert!(cut.reason.contains("10 MB"));
        assert_eq!(result_count(&fitted.document), cut.kept);
        assert!(cut.kept > 300 && cut.kept < 2000 / 3 + 100, "{cut:?}");
    }
}
