#!/usr/bin/env bash
# Full-history scan timings: keygate beside the peers that are installed, on one
# repository, each run once under `/usr/bin/time -v` (wall time and peak RSS).
#
#   benches/history.sh /path/to/repo            # e.g. a git directory from a mirror
#   KEYGATE=target/release/keygate benches/history.sh /path/to/repo
#
# Peers are looked for in benches/.peers/ (installed by the benches/ setup script)
# and skipped when absent. No peer validates findings over the network: each is run
# with its offline flags. `git cat-file --batch-all-objects --batch` is the floor: the
# time git itself needs to inflate every object, on one core.
set -euo pipefail

repo=${1:?usage: benches/history.sh REPO}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
peers=$here/.peers
keygate=${KEYGATE:-$root/target/release/keygate}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [ ! -x "$keygate" ]; then
    echo "building keygate (release)" >&2
    (cd "$root" && cargo build --release --locked -q)
fi

printf '%-12s %10s %12s %6s\n' tool seconds peak_MiB exit
measure() {
    local name=$1
    shift
    local log=$out/$name.time
    local code=0
    /usr/bin/time -v "$@" >"$out/$name.out" 2>"$log" || code=$?
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" |
        awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    printf '%-12s %10.2f %12.1f %6s\n' "$name" "$wall" "$((rss / 1024))" "$code"
}

git_dir=$(git -C "$repo" rev-parse --absolute-git-dir)
measure git-cat-file sh -c "git -C '$git_dir' cat-file --batch-all-objects --batch --unordered >/dev/null"
measure keygate "$keygate" scan --history --no-progress --format json --output "$out/keygate.json" "$repo"
if [ -x "$peers/betterleaks" ]; then
    measure betterleaks "$peers/betterleaks" git --no-banner --report-format json \
        --report-path "$out/betterleaks.json" "$repo"
fi
if [ -x "$peers/gitleaks" ]; then
    measure gitleaks "$peers/gitleaks" git --no-banner --report-format json \
        --report-path "$out/gitleaks.json" "$repo"
fi
if [ -x "$peers/kingfisher" ]; then
    measure kingfisher "$peers/kingfisher" scan "$repo" --git-history full --no-validate \
        --no-update-check --format json --output "$out/kingfisher.json"
fi
grep -h "warning" "$out/keygate.time" 2>/dev/null | cut -c1-300 || true
