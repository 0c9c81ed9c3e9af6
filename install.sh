#!/bin/sh
# Installs a keygate release binary.
#
#   sh install.sh [--version V] [--to DIR]
#
# Downloads BASE/vV/keygate-V-TARGET.tar.gz (a .zip on Windows) for this machine,
# checks it against BASE/vV/keygate-V-SHA256SUMS, and only then puts the binary in
# DIR (default: ~/.local/bin). BASE is GitHub's release download URL;
# KEYGATE_DOWNLOAD_BASE replaces it (a mirror, or a test server). On Linux the static
# musl build is preferred and the glibc one taken when a release lacks it. Without
# --version, the latest release is asked for. A missing file or a checksum that does
# not match installs nothing and exits non-zero.
#
# POSIX sh on purpose: it runs where only /bin/sh, curl or wget, tar and a SHA-256
# tool exist (sha256sum, shasum or openssl).

set -eu

base=${KEYGATE_DOWNLOAD_BASE:-https://github.com/keygate/keygate/releases/download}
version=${KEYGATE_VERSION:-}
to=${KEYGATE_INSTALL_DIR:-}

say() {
    printf 'keygate install: %s\n' "$*" >&2
}

die() {
    printf 'keygate install: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
Installs a keygate release binary, checked against the release's SHA256SUMS.

usage: sh install.sh [--version V] [--to DIR]

  --version V   the release to install (default: the latest)
  --to DIR      where to put the `keygate` binary (default: ~/.local/bin)

Environment: KEYGATE_DOWNLOAD_BASE replaces the download URL
(https://github.com/keygate/keygate/releases/download) for mirrors.
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --version)
            [ $# -ge 2 ] || die "--version needs a value"
            version=$2
            shift 2
            ;;
        --version=*)
            version=${1#--version=}
            shift
            ;;
        --to)
            [ $# -ge 2 ] || die "--to needs a value"
            to=$2
            shift 2
            ;;
        --to=*)
            to=${1#--to=}
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument \`$1\`"
            ;;
    esac
done

if [ -z "$to" ]; then
    [ -n "${HOME:-}" ] || die "HOME is not set: say where to install with --to DIR"
    to=$HOME/.local/bin
fi

# Over HTTPS, redirects must stay on HTTPS (GitHub sends downloads to another host).
# A plain-HTTP base is the user's own choice (a local mirror), and the checksums
# still guard the archive's content.
case $base in
    https://*) curl_proto="--proto =https --proto-redir =https" ;;
    *) curl_proto="" ;;
esac

# fetch URL FILE: downloads URL into FILE; fails on any HTTP error.
fetch() {
    if command -v curl >/dev/null 2>&1; then
        # shellcheck disable=SC2086 # $curl_proto is a list of options, or nothing.
        curl -fsSL $curl_proto --retry 2 --connect-timeout 20 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        die "neither curl nor wget is installed"
    fi
}

# latest_version: the version of the release GitHub calls latest, read from where
# BASE/../latest redirects (…/releases/tag/vX.Y.Z).
latest_version() {
    url=${base%/download}/latest
    if command -v curl >/dev/null 2>&1; then
        # shellcheck disable=SC2086
        where=$(curl -fsSLI $curl_proto --connect-timeout 20 -o /dev/null -w '%{url_effective}' "$url") || where=""
    else
        where=$(wget -q -S --spider --max-redirect=0 "$url" 2>&1 | sed -n 's/^ *[Ll]ocation: *//p' | tr -d '\r' | tail -n 1) || where=""
    fi
    case $where in
        */tag/v*) printf '%s\n' "${where##*/tag/v}" ;;
        *) return 1 ;;
    esac
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
    else
        die "no SHA-256 tool (sha256sum, shasum or openssl) to check the download with"
    fi
}

if [ -z "$version" ]; then
    version=$(latest_version) || die "could not find the latest release at \`${base%/download}/latest\`; name one with --version V"
fi
version=${version#v}
case $version in
    '' | *[!0-9A-Za-z.+-]*) die "\`$version\` is not a version" ;;
esac

os=$(uname -s)
arch=$(uname -m)
case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "no release binary for the \`$arch\` processor; build from source: cargo install keygate" ;;
esac
ext=tar.gz
exe=keygate
case $os in
    Linux) targets="$arch-unknown-linux-musl $arch-unknown-linux-gnu" ;;
    Darwin)
        # A shell under Rosetta says x86_64 on an Apple silicon Mac; take the native build.
        if [ "$arch" = x86_64 ] && [ "$(sysctl -n hw.optional.arm64 2>/dev/null || true)" = 1 ]; then
            arch=aarch64
        fi
        targets="$arch-apple-darwin"
        ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
        targets="$arch-pc-windows-msvc"
        ext=zip
        exe=keygate.exe
        ;;
    *) die "no release binary for \`$os\`; build from source: cargo install keygate" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/keygate-install.XXXXXX") || die "cannot create a temporary folder"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

release=$base/v$version
sums_name=keygate-$version-SHA256SUMS
fetch "$release/$sums_name" "$tmp/$sums_name" ||
    die "cannot download \`$release/$sums_name\`: is there a release v$version? Nothing was installed."

# The first target the release has a checksum for: musl before gnu on Linux.
target=""
for candidate in $targets; do
    if awk -v name="keygate-$version-$candidate.$ext" \
        '$2 == name || $2 == "*" name { found = 1 } END { exit !found }' "$tmp/$sums_name"; then
        target=$candidate
        break
    fi
done
[ -n "$target" ] || die "release v$version has no binary for this machine (looked for: $targets). Nothing was installed."

name=keygate-$version-$target
archive=$name.$ext
fetch "$release/$archive" "$tmp/$archive" ||
    die "cannot download \`$release/$archive\`. Nothing was installed."

expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/$sums_name")
actual=$(sha256 "$tmp/$archive")
if [ "$expected" != "$actual" ]; then
    die "checksum mismatch for \`$archive\`: $sums_name says $expected, the download is $actual. Nothing was installed."
fi

mkdir "$tmp/unpacked"
case $ext in
    tar.gz) tar -xzf "$tmp/$archive" -C "$tmp/unpacked" || die "cannot unpack \`$archive\`" ;;
    zip)
        if command -v unzip >/dev/null 2>&1; then
            unzip -q "$tmp/$archive" -d "$tmp/unpacked" || die "cannot unpack \`$archive\`"
        else
            tar -xf "$tmp/$archive" -C "$tmp/unpacked" || die "cannot unpack \`$archive\` (no unzip)"
        fi
        ;;
esac
binary=$tmp/unpacked/$name/$exe
[ -f "$binary" ] || die "\`$archive\` has no \`$name/$exe\`. Nothing was installed."

mkdir -p "$to" || die "cannot create \`$to\`"
# Copy beside the target, then rename over it: a keygate already there is replaced
# whole or not at all, never left half written.
cp "$binary" "$to/.$exe.install-$$" || die "cannot write into \`$to\`"
chmod 755 "$to/.$exe.install-$$"
mv -f "$to/.$exe.install-$$" "$to/$exe" || {
    rm -f "$to/.$exe.install-$$"
    die "cannot install \`$to/$exe\`"
}

say "installed keygate $version ($target) as \`$to/$exe\`"
case :${PATH:-}: in
    *:"$to":*) ;;
    *) say "\`$to\` is not on your PATH: add it, or run \`$to/$exe\`" ;;
esac
