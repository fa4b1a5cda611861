#!/usr/bin/env bash
# run_fuzzer.sh TARGET SCRATCH_DIR CORPUS_DIR SECONDS: runs a libFuzzer target
# for SECONDS on its corpus. New inputs go to SCRATCH_DIR (emptied first);
# the corpus in the tree is only read. A crash, a sanitizer report, a leak or
# a timeout of one input fails the test, and the input that did it is kept
# in SCRATCH_DIR/.. as crash-*/leak-*/timeout-* with the command to rerun it.
set -euo pipefail
target=$(realpath "$1") scratch=$2 corpus=$(realpath "$3") seconds=$4
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$(dirname "$scratch")"
# -timeout: one input taking 10 s is a hang (a policy compile takes ms).
# -rss_limit_mb: the data plane targets hold 256 MB of EAL memory.
exec "$target" "$scratch" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$(dirname "$scratch")/$(basename "$target")-"
