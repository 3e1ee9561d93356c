#!/usr/bin/env bash
# Speed benchmark of the file source of `iocwatch run`: lines per second when
# reading a backlog, and the delay from `write` to the channel's receiver
# while lines are appended at a steady rate.
#
# Builds the example crates/pipeline/examples/file_source_bench.rs in release
# mode and runs it in a temporary directory. Output: a Markdown table on
# stdout, preceded by the machine's core count and load average, since the
# delay percentiles depend on how busy the cores are.
#
# Usage: bash bench/sources.sh [--backlog-lines N] [--rate LINES_PER_S] [--seconds S]
# Defaults: 2,000,000 backlog lines, 10,000 lines/s for 5 s.

set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet -p iocwatch-pipeline --example file_source_bench
target="${CARGO_TARGET_DIR:-target}"
echo "cores: $(nproc), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
"$target/release/examples/file_source_bench" "$@"
