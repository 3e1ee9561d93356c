#!/usr/bin/env bash
# Speed benchmark of `iocwatch scan` against `rg -F -f` and `grep -F -f`.
#
# Builds iocwatch in release mode, generates the corpora with
# bench/gen_corpus.py when they are missing, then times every tool on every
# corpus in one run. iocwatch and rg run --reps times each, in alternating
# order, after one untimed run each to warm the page cache, and each timed
# run follows a read of the corpus. grep runs once, under a timeout. A
# second part measures iocwatch's peak memory with
# 1,000,000 indicators loaded.
#
# Output: a Markdown table of medians on stdout, the raw measurements in
# bench/out/results-<date>.csv, the machine description in
# bench/out/machine-<date>.txt and the progress messages in
# bench/out/run-<date>.log.

set -euo pipefail
# EPOCHREALTIME and the numbers below use a decimal point.
export LC_ALL=C

usage() {
    cat <<'EOF'
Usage: bash bench/run.sh [OPTIONS]

Options:
  --reps N               timed runs of iocwatch and rg per corpus (default: 3)
  --corpora LIST         comma-separated FORMAT=MB pairs, FORMAT one of zeek-tsv,
                         zeek-json, eve (default: zeek-tsv=1000,eve=1000,zeek-json=500)
  --indicators N         watchlist size for the speed runs (default: 100000)
  --memory-indicators N  watchlist size for the memory runs (default: 1000000)
  --seed N               generator seed (default: 1)
  --threads N            pass --threads N to iocwatch (default: one per core)
  --no-single-thread     skip the extra iocwatch runs with --threads 1
  --grep-timeout S       seconds before grep is stopped (default: 300)
  --no-grep              skip grep
  --no-memory            skip the memory runs
  --out DIR              directory for corpora and results (default: bench/out)
  --binary PATH          time this iocwatch binary instead of building one
  -h, --help             print this help

Environment: CARGO_TARGET_DIR is respected when locating the iocwatch binary.
EOF
}

reps=3
corpora="zeek-tsv=1000,eve=1000,zeek-json=500"
indicators=100000
memory_indicators=1000000
seed=1
threads=""
grep_timeout=300
run_grep=1
run_memory=1
run_single_thread=1
out=""
binary=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) reps="$2"; shift 2 ;;
        --corpora) corpora="$2"; shift 2 ;;
        --indicators) indicators="$2"; shift 2 ;;
        --memory-indicators) memory_indicators="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --grep-timeout) grep_timeout="$2"; shift 2 ;;
        --no-grep) run_grep=0; shift ;;
        --no-memory) run_memory=0; shift ;;
        --no-single-thread) run_single_thread=0; shift ;;
        --out) out="$2"; shift 2 ;;
        --binary) binary="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

for number in "$reps" "$indicators" "$memory_indicators" "$seed" "$grep_timeout" ${threads:+"$threads"}; do
    if ! [[ "$number" =~ ^[0-9]+$ ]] || [[ "$number" -lt 1 ]]; then
        echo "error: invalid number $number: these options take positive integers" >&2
        exit 2
    fi
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${out:-$root/bench/out}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
csv="$out/results-$stamp.csv"
machine_file="$out/machine-$stamp.txt"
work="$out/work-$stamp"
mkdir -p "$work"

log() { printf '== %s\n' "$*" >&2; }

# Keep a copy of the progress messages next to the results.
exec 2> >(tee -a "$out/run-$stamp.log" >&2)

# --- Tools ------------------------------------------------------------------

if [[ -n "$binary" ]]; then
    iocwatch="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
else
    log "building iocwatch (cargo build --release -p iocwatch)"
    cargo build --release -p iocwatch >&2
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    iocwatch="$(cd "$target_dir" && pwd)/release/iocwatch"
fi
if [[ ! -x "$iocwatch" ]]; then
    echo "error: iocwatch binary not found at $iocwatch after the build" >&2
    exit 2
fi

if ! command -v rg >/dev/null 2>&1; then
    log "rg not found: installing ripgrep with 'cargo install ripgrep --locked'"
    cargo install ripgrep --locked >&2
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time not found: installing Debian's time package"
    apt-get update >&2 && apt-get install -y time >&2
fi
for tool in python3 grep timeout; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found: install it and rerun" >&2; exit 2; }
done

{
    echo "date: $stamp"
    echo "nproc: $(nproc)"
    lscpu | grep 'Model name' || true
    free -g
    uname -srm
    echo "iocwatch: $("$iocwatch" --version) ($iocwatch)"
    echo "rg: $(rg --version | head -n 1)"
    echo "grep: $(grep --version | head -n 1)"
    echo "python3: $(python3 --version)"
} >"$machine_file"
log "machine:"
cat "$machine_file" >&2

# --- Corpora ----------------------------------------------------------------

list="$out/watchlist_i${indicators}_s${seed}.txt"
declare -a corpus_paths=() corpus_formats=()
IFS=',' read -r -a corpus_specs <<<"$corpora"
for spec in "${corpus_specs[@]}"; do
    format="${spec%%=*}"
    size="${spec#*=}"
    if [[ "$spec" != *=* || -z "$format" || -z "$size" ]]; then
        echo "error: invalid corpus $spec: expected FORMAT=MB, such as eve=1000" >&2
        exit 2
    fi
    python3 bench/gen_corpus.py --out "$out" --indicators "$indicators" --seed "$seed" \
        --size-mb "$size" --formats "$format" >&2
    name="$(python3 -c 'import sys; sys.path.insert(0, "bench"); import gen_corpus as g; print(g.corpus_name(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))' \
        "$format" "$size" "$indicators" "$seed")"
    corpus_paths+=("$out/$name")
    corpus_formats+=("$format")
done

# --- Measurement ------------------------------------------------------------

echo "date,corpus,format,bytes,tool,rep,wall_s,user_s,sys_s,max_rss_kb,load1,count,expected,exit_status,note" >"$csv"

# Runs "$@" and sets wall (seconds, from bash's microsecond clock), user
# and sys (CPU seconds), rss (peak resident set in KiB), load1 (the
# one-minute load average just before the run) and status (exit status).
# Standard output goes to $run_stdout.
run_stdout=/dev/null
measure() {
    local time_file="$work/time.txt"
    local started ended
    load1=$(cut -d ' ' -f 1 /proc/loadavg)
    started=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%e %M %U %S' -o "$time_file" "$@" >"$run_stdout"
    status=$?
    set -e
    ended=$EPOCHREALTIME
    local elapsed_us=$((${ended/./} - ${started/./}))
    wall=$(printf '%d.%06d' $((elapsed_us / 1000000)) $((elapsed_us % 1000000)))
    # /usr/bin/time prints "Command exited with non-zero status N" first
    # when the status is not 0, so the numbers are on the last line.
    read -r _ rss user sys < <(tail -n 1 "$time_file")
}

record() {
    # Arguments: corpus, format, bytes, tool, rep, count, expected count, note.
    echo "$stamp,$1,$2,$3,$4,$5,$wall,$user,$sys,$rss,$load1,$6,$7,$status,$8" >>"$csv"
}

iocwatch_args=(scan --quiet --json)
[[ -n "$threads" ]] && iocwatch_args+=(--threads "$threads")

# Reads the corpus into the page cache. Each timed run follows a call,
# because some machines page out file pages that were not read for a
# while (DAMON reclaim does, with no memory pressure), and a timed run
# would then read part of its input from disk.
warm() {
    cat "$1" >/dev/null
}

run_iocwatch() {
    # Arguments: corpus, rep, format, bytes, expected alerts, tool label,
    # then extra iocwatch options.
    local corpus="$1" rep="$2" format="$3" bytes="$4" expected="$5" label="$6"
    shift 6
    run_stdout="$work/alerts.jsonl"
    warm "$corpus"
    measure "$iocwatch" "${iocwatch_args[@]}" "$@" --intel "$list" "$corpus"
    local count note=""
    count=$(wc -l <"$work/alerts.jsonl")
    [[ "$status" -gt 1 ]] && note="error exit"
    record "$(basename "$corpus")" "$format" "$bytes" "$label" "$rep" "$count" "$expected" "$note"
    log "  $label rep $rep: $wall s (user $user, sys $sys), $rss KiB, $count alerts (expected $expected), exit $status"
}

run_rg() {
    local corpus="$1" rep="$2" format="$3" bytes="$4" expected="$5"
    run_stdout="$work/rg-count.txt"
    warm "$corpus"
    measure rg -F -f "$list" -c "$corpus"
    local count
    count=$(cat "$work/rg-count.txt")
    record "$(basename "$corpus")" "$format" "$bytes" rg "$rep" "${count:-0}" "$expected" ""
    log "  rg rep $rep: $wall s (user $user, sys $sys), $rss KiB, ${count:-0} lines (expected $expected), exit $status"
}

check_alerts() {
    # Compares the byte offsets of the alerts in alerts.jsonl with those of
    # the planted records and prints any difference.
    python3 - "$work/alerts.jsonl" "$1.expected.json" <<'EOF' >&2 || log "  alert check failed: the alerts are not JSON lines with log.offset"
import json
import sys

alerts_path, expected_path = sys.argv[1], sys.argv[2]
expected = json.load(open(expected_path))
planted = set(expected["planted_offsets"])
decoys = set(expected["decoy_offsets"])
seen = []
with open(alerts_path) as alerts:
    for line in alerts:
        document = json.loads(line)
        offset = document.get("log", {}).get("offset", document.get("log.offset"))
        seen.append(offset)
found = set(seen)
missing = sorted(planted - found)
extra = sorted(found - planted)
duplicates = len(seen) - len(found)
print(f"  alert check: {len(found & planted)} of {len(planted)} planted records alerted, "
      f"{len(missing)} missed, {len(extra)} alerts on other lines "
      f"({len(set(extra) & decoys)} of them decoys), {duplicates} duplicate alerts")
if missing:
    print(f"  missed planted offsets (first 5): {missing[:5]}")
if extra:
    print(f"  unexpected alert offsets (first 5): {extra[:5]}")
EOF
}

for index in "${!corpus_paths[@]}"; do
    corpus="${corpus_paths[$index]}"
    format="${corpus_formats[$index]}"
    sidecar="$corpus.expected.json"
    bytes=$(stat -c %s "$corpus")
    planted=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["expected_alerts"])' "$sidecar")
    substring=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["expected_substring_lines"])' "$sidecar")
    log "corpus $(basename "$corpus"): $bytes bytes, $planted planted records, $substring lines with a substring hit"

    log "  warming the page cache: cat, then one untimed run of iocwatch (with its summary) and rg"
    warm "$corpus"
    set +e
    "$iocwatch" scan --json --intel "$list" ${threads:+--threads "$threads"} "$corpus" \
        >"$work/alerts.jsonl" 2>"$out/iocwatch-summary-$(basename "$corpus").txt"
    set -e
    sed 's/^/  | /' "$out/iocwatch-summary-$(basename "$corpus").txt" | head -n 8 >&2
    check_alerts "$corpus"
    rg -F -f "$list" -c "$corpus" >/dev/null || true

    for rep in $(seq 1 "$reps"); do
        if ((rep % 2 == 1)); then
            run_iocwatch "$corpus" "$rep" "$format" "$bytes" "$planted" iocwatch
            ((run_single_thread)) && run_iocwatch "$corpus" "$rep" "$format" "$bytes" "$planted" iocwatch-1t --threads 1
            run_rg "$corpus" "$rep" "$format" "$bytes" "$substring"
        else
            run_rg "$corpus" "$rep" "$format" "$bytes" "$substring"
            ((run_single_thread)) && run_iocwatch "$corpus" "$rep" "$format" "$bytes" "$planted" iocwatch-1t --threads 1
            run_iocwatch "$corpus" "$rep" "$format" "$bytes" "$planted" iocwatch
        fi
    done

    if ((run_grep)); then
        run_stdout="$work/grep-count.txt"
        warm "$corpus"
        measure timeout "$grep_timeout" grep -F -f "$list" -c "$corpus"
        note=""
        count=$(cat "$work/grep-count.txt")
        if [[ "$status" -eq 124 ]]; then
            note="timed out after ${grep_timeout} s"
            count=""
        fi
        record "$(basename "$corpus")" "$format" "$bytes" grep 1 "$count" "$substring" "$note"
        log "  grep: $wall s, $rss KiB, ${count:-no} lines (expected $substring), exit $status ${note}"
    fi
done

# --- Memory -----------------------------------------------------------------

if ((run_memory)); then
    log "memory: peak RSS of iocwatch with $memory_indicators indicators"
    python3 bench/gen_corpus.py --out "$out" --indicators "$memory_indicators" --seed "$seed" \
        --size-mb 50 --formats eve >&2
    python3 bench/gen_corpus.py --out "$out" --indicators "$memory_indicators" --seed "$seed" \
        --size-mb 0 --planted 0 --decoys 0 --formats zeek-tsv >&2
    big_list="$out/watchlist_i${memory_indicators}_s${seed}.txt"
    small_corpus="$out/eve_50MB_i${memory_indicators}_s${seed}.json"
    empty_corpus="$out/zeek-tsv_0MB_i${memory_indicators}_s${seed}.log"
    one_list="$work/one-indicator.txt"
    head -n 1 "$big_list" >"$one_list"
    small_planted=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["expected_alerts"])' "$small_corpus.expected.json")
    cat "$big_list" "$list" "$small_corpus" >/dev/null

    memory_run() {
        # Arguments: label, watchlist, corpus, expected alert count.
        local label="$1" watchlist="$2" corpus="$3" expected="$4"
        for rep in $(seq 1 "$reps"); do
            run_stdout="$work/alerts.jsonl"
            warm "$corpus"
            measure "$iocwatch" "${iocwatch_args[@]}" --intel "$watchlist" "$corpus"
            local count
            count=$(wc -l <"$work/alerts.jsonl")
            record "$(basename "$corpus")" memory "$(stat -c %s "$corpus")" "iocwatch:$label" "$rep" "$count" "$expected" ""
            log "  $label rep $rep: $wall s, $rss KiB, $count alerts (expected $expected), exit $status"
        done
    }
    memory_run "1-indicator" "$one_list" "$empty_corpus" 0
    memory_run "$indicators-indicators" "$list" "$empty_corpus" 0
    memory_run "$memory_indicators-indicators" "$big_list" "$empty_corpus" 0
    memory_run "$memory_indicators-indicators" "$big_list" "$small_corpus" "$small_planted"
    check_alerts "$small_corpus"
fi

# --- Summary ----------------------------------------------------------------

python3 - "$csv" "$memory_indicators" <<'EOF'
import csv
import statistics
import sys
from collections import defaultdict

path, memory_indicators = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(path)))
runs_by_key = defaultdict(list)
sizes = {}
formats = {}
for row in rows:
    if row["format"] == "memory":
        continue
    runs_by_key[(row["corpus"], row["tool"])].append(row)
    sizes[row["corpus"]] = int(row["bytes"])
    formats[row["corpus"]] = row["format"]


def median_of(runs, column):
    return statistics.median(float(run[column]) for run in runs)


def median_wall(corpus, tool):
    """Return the median wall time in seconds, or None when the tool did not run or timed out."""
    runs = runs_by_key.get((corpus, tool), [])
    if not runs or any(run["note"].startswith("timed out") for run in runs):
        return None
    return median_of(runs, "wall_s")


def rate(corpus, tool):
    runs = runs_by_key.get((corpus, tool), [])
    if runs and runs[0]["note"].startswith("timed out"):
        return runs[0]["note"]
    wall = median_wall(corpus, tool)
    return "-" if wall is None else f"{sizes[corpus] / 1e6 / wall:.0f}"


def ratio(corpus, slower, faster):
    slow, fast = median_wall(corpus, slower), median_wall(corpus, faster)
    return "-" if slow is None or fast is None else f"{slow / fast:.1f}x"


def counts(corpus, tool):
    runs = runs_by_key.get((corpus, tool), [])
    return "/".join(sorted({run["count"] for run in runs})) or "-"


def expected(corpus, tool):
    runs = runs_by_key.get((corpus, tool), [])
    return runs[0]["expected"] if runs else "-"


def peak_mib(corpus, tool):
    runs = runs_by_key.get((corpus, tool), [])
    return f"{median_of(runs, 'max_rss_kb') / 1024:.0f}" if runs else "-"


def cpu_share(corpus, tool):
    runs = runs_by_key.get((corpus, tool), [])
    if not runs:
        return "-"
    shares = [(float(run["user_s"]) + float(run["sys_s"])) / float(run["wall_s"]) for run in runs]
    return f"{100 * statistics.median(shares):.0f}%"


print()
print(f"Medians of {path}. MB = 10^6 bytes. MB/s = corpus size / median wall time, from process start to exit.")
print()
print("| corpus | size (MB) | iocwatch MB/s | iocwatch --threads 1 MB/s | rg -F -f MB/s | grep -F -f MB/s "
      "| speed-up vs rg | speed-up vs grep | iocwatch CPU | median load1 |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for corpus in sizes:
    loads = [float(row["load1"]) for row in rows if row["corpus"] == corpus]
    print(f"| {formats[corpus]} | {sizes[corpus] / 1e6:.0f} | {rate(corpus, 'iocwatch')} | "
          f"{rate(corpus, 'iocwatch-1t')} | {rate(corpus, 'rg')} | {rate(corpus, 'grep')} | "
          f"{ratio(corpus, 'rg', 'iocwatch')} | {ratio(corpus, 'grep', 'iocwatch')} | "
          f"{cpu_share(corpus, 'iocwatch')} | {statistics.median(loads):.2f} |")

print()
print("| corpus | iocwatch alerts | expected alerts | rg lines | grep lines | expected substring lines "
      "| iocwatch peak RSS (MiB) | rg peak RSS (MiB) | grep peak RSS (MiB) |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
for corpus in sizes:
    print(f"| {formats[corpus]} | {counts(corpus, 'iocwatch')} | {expected(corpus, 'iocwatch')} | "
          f"{counts(corpus, 'rg')} | {counts(corpus, 'grep')} | {expected(corpus, 'rg')} | "
          f"{peak_mib(corpus, 'iocwatch')} | {peak_mib(corpus, 'rg')} | {peak_mib(corpus, 'grep')} |")

memory = defaultdict(list)
for row in rows:
    if row["format"] == "memory":
        memory[(row["tool"], row["corpus"])].append(row)
if memory:
    print()
    print("| iocwatch watchlist | corpus | median wall (s) | median peak RSS (MiB) | alerts | expected |")
    print("|---|---|--:|--:|--:|--:|")
    peaks = {}
    for (tool, corpus), runs in memory.items():
        wall = median_of(runs, "wall_s")
        rss = median_of(runs, "max_rss_kb") / 1024
        peaks[(tool, corpus)] = rss
        alerts = "/".join(sorted({run["count"] for run in runs}))
        label = tool.removeprefix("iocwatch:")
        print(f"| {label} | {corpus} | {wall:.2f} | {rss:.0f} | {alerts} | {runs[0]['expected']} |")
    empty = [corpus for (_, corpus) in peaks if corpus.startswith("zeek-tsv_0MB")]
    if empty:
        baseline = peaks.get(("iocwatch:1-indicator", empty[0]))
        loaded = peaks.get((f"iocwatch:{memory_indicators}-indicators", empty[0]))
        if baseline is not None and loaded is not None:
            per_million = (loaded - baseline) / (memory_indicators / 1e6)
            print()
            print(f"Peak memory per million indicators: {per_million:.0f} MiB "
                  f"(peak RSS with {memory_indicators} indicators minus peak RSS with 1, on an empty corpus)")
EOF

rm -rf "$work"
log "raw results: $csv"
