//! Human output: findings grouped by file, each with what to do about it.
//!
//! Colour only on a terminal and never with `NO_COLOR` or `--no-color`; the text reads
//! the same without it. Secrets are redacted unless `--show-secrets`. Everything that
//! comes from scanned data (paths, lines, commits, custom rules) goes through
//! [`crate::quote`], so the report cannot carry terminal escapes or workflow commands.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::Report;
use crate::finding::{Finding, Status, Suppression};
use crate::quote;

struct Palette {
    path: Style,
    rule: Style,
    dim: Style,
    bad: Style,
    good: Style,
}

impl Palette {
    fn new(color: bool) -> Palette {
        if !color {
            let plain = Style::new();
            return Palette {
                path: plain,
                rule: plain,
                dim: plain,
                bad: plain,
                good: plain,
            };
        }
        Palette {
            path: Style::new()
                .bold()
                .fg_color(Some(AnsiColor::Magenta.into())),
            rule: Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            dim: Style::new().dimmed(),
            bad: Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            good: Style::new().bold().fg_color(Some(AnsiColor::Green.into())),
        }
    }
}

/// Writes the whole human report.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let p = Palette::new(report.output.color);
    let mut current_path: Option<&str> = None;
    let mut files = 0usize;
    // With `--validate`, live keys come first: they are the ones to revoke now. The
    // sort is stable, so each status keeps the path order.
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| f.validation.as_ref().map(|v| rank(v.status)));
    let mut seen = std::collections::HashSet::new();
    for finding in findings {
        if current_path != Some(finding.location.path.as_str()) {
            // A file with keys of two statuses shows up once for each; messages
            // are counted apart.
            if finding.message.is_none() && seen.insert(finding.location.path.as_str()) {
                files += 1;
            }
        }
        if current_path != Some(finding.location.path.as_str()) {
            if current_path.is_some() {
                writeln!(out)?;
            }
            current_path = Some(&finding.location.path);
            writeln!(
                out,
                "{}{}{}",
                p.path.render(),
                quote::path(&finding.location.path),
                p.path.render_reset()
            )?;
        }
        write_finding(report, finding, &p, out)?;
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
    }
    write_summary(report, files, &p, out)
}

fn write_finding(report: &Report, f: &Finding, p: &Palette, out: &mut dyn Write) -> io::Result<()> {
    let secret = if report.output.show_secrets {
        f.secret.clone()
    } else {
        f.redacted()
    };
    let suppressed = match f.suppression {
        None => String::new(),
        Some(Suppression::Inline) => " (allowed inline)".into(),
        Some(Suppression::Baseline) => " (in baseline)".into(),
        Some(Suppression::Config) => " (allowed by config)".into(),
    };
    let status = match &f.validation {
        Some(v) => {
            let style = match v.status {
                Status::Live => p.bad,
                _ => p.dim,
            };
            format!(
                " {}{}{}",
                style.render(),
                v.status.as_str().to_uppercase(),
                style.render_reset()
            )
        }
        None => String::new(),
    };
    writeln!(
        out,
        "  {}:{}  {}{}{} [{}] {}{}{}",
        f.location.line,
        f.location.column,
        p.rule.render(),
        quote::text(&f.rule_name),
        p.rule.render_reset(),
        f.severity,
        quote::text(&f.rule_id),
        status,
        suppressed,
    )?;
    writeln!(out, "      secret:  {}", quote::text(&secret))?;
    if let Some(v) = &f.validation {
        writeln!(
            out,
            "      status:  {}: {}",
            v.status,
            quote::text(&v.detail)
        )?;
    }
    if !f.decoded.is_empty() {
        let layers: Vec<&str> = f.decoded.iter().map(|l| l.as_str()).collect();
        writeln!(out, "      decoded: {}", layers.join(" > "))?;
    }
    if !f.context.is_empty() && !report.output.show_secrets {
        writeln!(
            out,
            "      line:    {}{}{}",
            p.dim.render(),
            quote::text(&redact_neighbours(&f.context, f, report.findings)),
            p.dim.render_reset()
        )?;
    }
    if let Some(commit) = &f.commit {
        let short = crate::finding::short_id(&commit.id);
        writeln!(
            out,
            "      commit:  {short} by {} <{}> on {}: {}",
            quote::text(&commit.author),
            quote::text(&commit.email),
            quote::text(&commit.date),
            quote::text(&commit.summary)
        )?;
    }
    if let Some(tag) = f.message.as_ref().and_then(|m| m.tag()) {
        let short = crate::finding::short_id(&tag.id);
        writeln!(out, "      tag:     {} ({short})", quote::text(&tag.name))?;
    }
    if f.suppression.is_none() {
        let rotate = match &f.revoke_url {
            Some(url) => format!("revoke and rotate it at {}", quote::text(url)),
            None => "revoke and rotate it with its provider".into(),
        };
        use crate::finding::MessageOf;
        let remove = match (&f.message, &f.commit) {
            (None, _) => {
                "remove it from the code, load it from an environment variable or a secret manager"
            }
            // A message being committed (`--commit-msg`) is still easy to change.
            (Some(MessageOf::Commit), None) => "take it out of the message",
            (Some(MessageOf::Commit | MessageOf::Tag(_)), _) => {
                "take it out of the message (a pushed message changes only by rewriting history)"
            }
            (Some(_), _) => "edit it out of the pull request",
        };
        writeln!(out, "      fix:     {remove}, and {rotate}")?;
    }
    Ok(())
}

/// The context of `f` with every secret found on the same line redacted too: its
/// own is, but the same key written twice on a line, or a second key beside it (a
/// command pasted into a message), would show whole.
/// `findings` are in report order (path, then line), so those of one line are
/// found by bisection.
fn redact_neighbours(context: &str, f: &Finding, findings: &[Finding]) -> String {
    fn key(g: &Finding) -> (&str, u64) {
        (g.location.path.as_str(), g.location.line)
    }
    let start = findings.partition_point(|g| key(g) < key(f));
    let end = findings.partition_point(|g| key(g) <= key(f));
    let same_line = findings
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .filter(|g| g.commit.as_ref().map(|c| &c.id) == f.commit.as_ref().map(|c| &c.id));
    crate::finding::redact_all(
        context,
        std::iter::once(f.secret.as_str()).chain(same_line.map(|g| g.secret.as_str())),
    )
}

fn write_summary(
    report: &Report,
    files: usize,
    p: &Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = &report.stats;
    let active = report.active().count();
    let mut parts = Vec::new();
    if s.blobs > 0 {
        parts.push(format!("{} {}", s.blobs, plural(s.blobs, "blob", "blobs")));
    } else if s.files > 0 || s.messages == 0 {
        parts.push(format!("{} {}", s.files, plural(s.files, "file", "files")));
    }
    if s.messages > 0 {
        parts.push(format!(
            "{} {}",
            s.messages,
            plural(s.messages, "message", "messages")
        ));
    }
    let scanned = parts.join(" and ");
    let volume = format!("{scanned}, {} in {} ms", human_bytes(s.bytes), s.elapsed_ms);
    let live = report
        .active()
        .filter(|f| {
            f.validation
                .as_ref()
                .is_some_and(|v| v.status == Status::Live)
        })
        .count();
    if active == 0 {
        writeln!(
            out,
            "{}no secrets found{} (scanned {volume})",
            p.good.render(),
            p.good.render_reset()
        )?;
    } else {
        let messages = report
            .active()
            .filter(|f| f.message.is_some())
            .map(|f| (f.location.path.as_str(), f.commit.as_ref().map(|c| &c.id)))
            .collect::<std::collections::HashSet<_>>()
            .len();
        let mut places = Vec::new();
        if files > 0 || messages == 0 {
            places.push(format!("{files} {}", plural(files as u64, "file", "files")));
        }
        if messages > 0 {
            places.push(format!(
                "{messages} {}",
                plural(messages as u64, "message", "messages")
            ));
        }
        writeln!(
            out,
            "{}{active} {} found{} in {} (scanned {volume})",
            p.bad.render(),
            plural(active as u64, "secret", "secrets"),
            p.bad.render_reset(),
            places.join(" and "),
        )?;
        if live > 0 {
            writeln!(
                out,
                "{}{live} of them {} live{}: revoke {} first (`keygate revoke -` reads a key from standard input).",
                p.bad.render(),
                if live == 1 { "is" } else { "are" },
                p.bad.render_reset(),
                if live == 1 { "it" } else { "them" },
            )?;
        }
        writeln!(
            out,
            "a leaked key is public once pushed: revoke and rotate it even after removing it."
        )?;
        writeln!(
            out,
            "false positive? add a `keygate:allow` comment on its line, or accept it with `keygate baseline --output .keygate-baseline.json` and scan with `--baseline .keygate-baseline.json`."
        )?;
    }
    if s.suppressed > 0 {
        writeln!(
            out,
            "{} suppressed (inline allow, config or baseline)",
            s.suppressed
        )?;
    }
    if s.errors > 0 {
        writeln!(
            out,
            "{} {} could not be read (see the errors above)",
            s.errors,
            plural(s.errors, "input", "inputs")
        )?;
    }
    for note in report.notes {
        writeln!(out, "{}", quote::controls(note))?;
    }
    Ok(())
}

/// The order of statuses in the report: the keys to act on first.
fn rank(status: Status) -> u8 {
    match status {
        Status::Live => 0,
        Status::Unknown => 1,
        Status::Revoked => 2,
        Status::Invalid => 3,
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// `1.2 MiB` style sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
