#!/usr/bin/env bash
# Builds vpcnet three times and runs the tests of each build:
#
#   build        debugoptimized, -Dwerror=true: every test
#   build-asan   AddressSanitizer + UndefinedBehaviorSanitizer: every test
#   build-fuzz   clang, libFuzzer + ASan + UBSan: only the fuzz targets, each
#                fuzzing for FUZZ_SECONDS (default 60) from its corpus
#
# Installs the dependencies first (tools/install-deps.sh, fast when they are
# there). Exits non-zero if any build or test fails; the last line is the
# summary "vpcnet: N passed, N failed, N skipped".
#
# Environment: JOBS (default: number of cores), TEST_BUILDS (default
# "build build-asan build-fuzz"), FUZZ_SECONDS, BUILD_SUFFIX (build directories are build$BUILD_SUFFIX
# and build$BUILD_SUFFIX-asan, e.g. BUILD_SUFFIX=-mine), MESON_TEST_ARGS (extra
# `meson test` arguments, e.g. "--suite e2e").
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
JOBS=${JOBS:-$(nproc)}
TEST_BUILDS=${TEST_BUILDS:-build build-asan build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

log() { printf '\n[test.sh %s] %s\n' "$(date +%T)" "$*"; }

if ! bash tools/install-deps.sh; then
  log "installing dependencies failed"
  echo "vpcnet: 0 passed, 1 failed"
  exit 1
fi

# options_of BUILD: meson setup options of each configuration.
options_of() {
  case $1 in
    build) echo "--buildtype=debugoptimized -Dwerror=true" ;;
    # b_lundef=false: with -fsanitize the runtime supplies symbols at load time.
    build-asan) echo "--buildtype=debugoptimized -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false" ;;
    build-fuzz) echo "--buildtype=debugoptimized -Dwerror=true -Dfuzzing=true -Dfuzz_seconds=$FUZZ_SECONDS -Db_sanitize=address,undefined -Db_lundef=false" ;;
    *) return 1 ;;
  esac
}

# Sanitizer runtime options for the sanitizer build. meson test already sets
# halt_on_error/abort_on_error for ASan and UBSan when these are unset; we add
# print_stacktrace for UBSan. Leak detection stays on: the unit tests must not
# leak. The e2e daemons are stopped with SIGTERM and their logs are checked
# for sanitizer reports by tests/e2e/lib.sh.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}

passed=0 failed=0 skipped=0
failures=()

count_results() { # count_results BUILD: adds the results of BUILD/meson-logs/testlog.json
  local log=$1/meson-logs/testlog.json p f s
  [[ -f $log ]] || return 0
  read -r p f s < <(/usr/bin/python3 - "$log" <<'EOF'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
EOF
  )
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

BUILD_SUFFIX=${BUILD_SUFFIX:-}
for config in $TEST_BUILDS; do
  opts=$(options_of "$config") || { log "unknown build $config"; failures+=("$config: unknown"); failed=$((failed + 1)); continue; }
  b=build$BUILD_SUFFIX${config#build}
  log "configure $b ($opts)"
  # The fuzz build is clang's (libFuzzer); the others use the default compiler.
  compilers=()
  [[ $config == build-fuzz ]] && compilers=(env CC=clang-14 CXX=clang++-14)
  # shellcheck disable=SC2086
  if [[ -f $b/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$b" $opts
  else
    rm -rf "$b"
    "${compilers[@]}" meson setup "$b" $opts
  fi || { failures+=("$b: meson setup"); failed=$((failed + 1)); continue; }

  log "build $b"
  targets=() test_args=()
  if [[ $config == build-fuzz ]]; then
    # Only the fuzz targets (and what they link) are built and run there.
    mapfile -t targets < <(sed -n "s/^  '\([a-z_]*_fuzz\)' :.*/tests\/fuzz\/\1/p" tests/fuzz/meson.build)
    test_args=(--no-rebuild --suite fuzz)
  fi
  if ! ninja -C "$b" -j "$JOBS" "${targets[@]}"; then
    failures+=("$b: build")
    failed=$((failed + 1))
    continue
  fi

  log "test $b"
  rm -f "$b/meson-logs/testlog.json"
  mult=1
  [[ $config == build-asan ]] && mult=3
  # shellcheck disable=SC2086
  if ! meson test -C "$b" --print-errorlogs --num-processes "$JOBS" \
      --timeout-multiplier "$mult" "${test_args[@]}" ${MESON_TEST_ARGS:-}; then
    failures+=("$b: meson test")
  fi
  count_results "$b"
done

log "summary"
for f in "${failures[@]}"; do echo "  FAILED: $f"; done
echo "vpcnet: $passed passed, $failed failed, $skipped skipped"
((failed == 0 && ${#failures[@]} == 0)) || exit 1
((passed > 0)) || { echo "no test ran"; exit 1; }
exit 0
