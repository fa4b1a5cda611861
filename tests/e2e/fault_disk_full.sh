#!/usr/bin/env bash
# Fault injection: a full disk (docs/reliability.md).
#   1. ENOSPC on the state directory during an apply: the state directory is
#      on a small tmpfs, filled up with dd. `vpcctl apply` of a changed policy
#      fails with a message that says no space is left and names the state
#      directory; `vpcctl get` and state.yaml still hold the previous policy;
#      controld keeps running; the data plane keeps the previous generation
#      (it was never sent the new one) and a counted stream across it all
#      loses nothing. Once space is freed, the same apply works.
#   2. A full disk for flow logs: STATE_DIR/flow-logs on a full tmpfs, with
#      flow records every second (--flow-log-interval 1). A counted stream
#      loses nothing, controld keeps running, and the entries it could not
#      write are counted in `vpcctl stats` (controld.flow_logs.write_errors,
#      entries_dropped); none is counted as written. Once space is freed,
#      entries are written again.
# Both tmpfs mounts are unmounted at exit, whatever happens.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE_PPS=${E2E_RATE_PPS:-1000}

e2e_init fault_disk_full
MOUNTS=()  # mounted by this run, innermost last
fault_cleanup() {
  local rc=$? i
  set +e
  # controld holds files on the state tmpfs (its lock): stop it first.
  e2e_stop_pid "$CD_PID"
  CD_PID=""
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" ||
      e2e_log "cannot unmount ${MOUNTS[i]}"
  done
  (exit "$rc")
  e2e_cleanup
}
trap fault_cleanup EXIT
mount_tmpfs() {  # DIR SIZE
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700" "vpcnet-e2e" "$1" || e2e_fail "cannot mount a tmpfs on $1"
  MOUNTS+=("$1")
}
fill() {  # DIR: fills the filesystem of DIR to the last byte
  dd if=/dev/zero of="$1/fill" bs=64k 2>/dev/null || true
  local avail
  avail=$(df --output=avail -B1 "$1" | tail -n 1 | tr -d ' ')
  ((avail == 0)) || e2e_fail "$1 still has $avail bytes free after the fill"
  e2e_log "filled $1 ($(du -h "$1/fill" | cut -f1)), 0 bytes free"
}

STATE_FS=$E2E_TMP/state-fs
mount_tmpfs "$STATE_FS" 4m
CD_STATE=$STATE_FS/state
FLOW_DIR=$CD_STATE/flow-logs  # controld's default flow-log directory
E2E_DP_ARGS="--flow-log-interval 1 ${E2E_DP_ARGS:-}"

POLICY=$E2E_REPO/policies/examples/two-subnets.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1
e2e_bring_up "$POLICY"
e2e_write_extra_subnets "$POLICY"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"

KINDS=$("$E2E_PY" - "$POLICY" <<'EOF'
import sys, yaml
print(" ".join(sorted({d["kind"] for d in yaml.safe_load_all(open(sys.argv[1])) if isinstance(d, dict)})))
EOF
)
snapshot_get() {  # FILE: `vpcctl get KIND -o json` of every kind of the policy, and Subnet
  local kind
  : >"$1"
  for kind in $KINDS Subnet; do
    e2e_ctl get "$kind" -o json >>"$1" || e2e_fail "vpcctl get $kind -o json failed"
  done
}
read_gens() { read -r GEN_DP GEN_CD CONNECTED < <(e2e_generations); }
flow_logs() {  # EXPR over controld's flow_logs stats
  e2e_ctl stats -o json >"$E2E_TMP/fl.json" || e2e_fail "vpcctl stats failed"
  e2e_json "$E2E_TMP/fl.json" "(lambda f: $1)(d['controld']['flow_logs'])"
}

e2e_section "ENOSPC on the state directory during an apply"
read_gens
((CONNECTED == 1 && GEN_DP == GEN_CD)) || e2e_fail "daemons do not agree before the test: $GEN_DP $GEN_CD $CONNECTED"
gen0=$GEN_CD
snapshot_get "$E2E_TMP/get0.json"
sha0=$(sha256sum <"$CD_STATE/state.yaml")
e2e_stream_start full $A $B "${T_IP4[$B]}" 9000 "$RATE_PPS"
sleep 0.5
fill "$STATE_FS"
if e2e_ctl apply -f "$E2E_TMP/extra-A.yaml" >"$E2E_TMP/apply-full.out" 2>&1; then
  e2e_fail "apply on a full state directory succeeded: $(cat "$E2E_TMP/apply-full.out")"
fi
msg=$(cat "$E2E_TMP/apply-full.out")
e2e_log "apply on a full disk said: $msg"
[[ $msg == *"No space left on device"* ]] || e2e_fail "the apply's error does not say the disk is full: $msg"
[[ $msg == *"$CD_STATE"* ]] || e2e_fail "the apply's error does not name the state directory $CD_STATE: $msg"
kill -0 "$CD_PID" 2>/dev/null || e2e_fail "controld died of the full disk"
read_gens
((GEN_CD == gen0)) || e2e_fail "controld's generation moved from $gen0 to $GEN_CD on a failed apply"
((GEN_DP == gen0 && CONNECTED == 1)) || e2e_fail "the data plane runs generation $GEN_DP (connected $CONNECTED), not $gen0"
snapshot_get "$E2E_TMP/get1.json"
cmp -s "$E2E_TMP/get0.json" "$E2E_TMP/get1.json" ||
  e2e_fail "vpcctl get changed after the failed apply: $(diff "$E2E_TMP/get0.json" "$E2E_TMP/get1.json" | head -20)"
[[ $(sha256sum <"$CD_STATE/state.yaml") == "$sha0" ]] || e2e_fail "state.yaml changed after the failed apply"
leftover=$(find "$CD_STATE" -maxdepth 1 -name "*.tmp.*")
[[ -z $leftover ]] || e2e_fail "the failed save left temporary files: $leftover"
grep -q "policy.apply failed: .*No space left on device" "$CD_LOG" || e2e_fail "controld's log does not say why the apply failed"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_pass "apply refused on a full state directory; get, state.yaml and data plane generation $gen0 unchanged"

rm -f "$STATE_FS/fill"
e2e_ctl apply -f "$E2E_TMP/extra-A.yaml" >"$E2E_TMP/apply-freed.out" 2>&1 ||
  e2e_fail "apply after freeing space: $(cat "$E2E_TMP/apply-freed.out")"
read_gens
((GEN_CD == gen0 + 1 && GEN_DP == gen0 + 1)) || e2e_fail "after the apply: data plane $GEN_DP, controld $GEN_CD, expected $((gen0 + 1))"
got=$(e2e_ctl get subnet e2e-extra -o json) || e2e_fail "vpcctl get subnet e2e-extra after the apply"
[[ $got == *"$E2E_EXTRA_CIDR_A"* ]] || e2e_fail "vpcctl get subnet e2e-extra: $got"
grep -q "$E2E_EXTRA_CIDR_A" "$CD_STATE/state.yaml" || e2e_fail "state.yaml does not hold the applied subnet"
sleep 0.5
e2e_stream_stop full
e2e_stream_assert_zero_loss full "across the refused and the accepted apply"
e2e_pass "with space freed the apply went through as generation $((gen0 + 1))"

e2e_section "a full disk for flow logs"
mkdir -p "$FLOW_DIR"
mount_tmpfs "$FLOW_DIR" 256k
fill "$FLOW_DIR"
log_at_fill=$(wc -l <"$CD_LOG")
written0=$(flow_logs "f['entries']")
dropped0=$(flow_logs "f['entries_dropped']")
errors0=$(flow_logs "f['write_errors']")
e2e_stream_start flowlog $A $B "${T_IP4[$B]}" 9002 "$RATE_PPS"
e2e_ping_all $A "${T_IP6[$B]}"
# Flow records come every second (--flow-log-interval 1), collected every second.
counted() { (($(flow_logs "f['entries_dropped']") > dropped0 && $(flow_logs "f['write_errors']") > errors0)); }
e2e_wait_for 20 "controld to count flow-log entries it could not write" counted ||
  e2e_fail "no flow-log write error counted: $(head -c 600 "$E2E_TMP/fl.json")"
sleep 2  # a few more failed collects
e2e_stream_stop flowlog
e2e_stream_assert_zero_loss flowlog "with the flow-log disk full"
written1=$(flow_logs "f['entries']")
dropped1=$(flow_logs "f['entries_dropped']")
errors1=$(flow_logs "f['write_errors']")
((written1 == written0)) || e2e_fail "flow-log entries counted as written on a full disk: $written0 -> $written1"
kill -0 "$CD_PID" 2>/dev/null || e2e_fail "controld died of the full flow-log disk"
log_at_free=$(wc -l <"$CD_LOG")
while_full=$(sed -n "$((log_at_fill + 1)),${log_at_free}p" "$CD_LOG")
grep -q "flow logs: .*No space left on device" <<<"$while_full" || e2e_fail "controld's log does not say why flow logs fail"
! grep -q "flow logs: collecting again" <<<"$while_full" || e2e_fail "controld logged that flow logs resumed while the disk was full"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_pass "flow-log disk full: $((dropped1 - dropped0)) entries dropped in $((errors1 - errors0)) failed writes, counted; forwarding unaffected"

rm -f "$FLOW_DIR/fill"
e2e_ping_all $A "${T_IP4[$B]}" 5
resumed() { (($(flow_logs "f['entries']") > written1)); }
e2e_wait_for 20 "flow-log entries to be written again" resumed ||
  e2e_fail "no flow-log entry written after freeing space: $(head -c 600 "$E2E_TMP/fl.json")"
[[ -s $FLOW_DIR/flow-log.jsonl ]] || e2e_fail "$FLOW_DIR/flow-log.jsonl is empty after freeing space"
after_free=$(sed -n "$((log_at_free + 1)),\$p" "$CD_LOG")
grep -q "flow logs: collecting again" <<<"$after_free" || e2e_fail "controld did not log that flow logs resumed"
e2e_pass "flow logs written again once space was freed ($(flow_logs "f['entries']") entries written in total)"
