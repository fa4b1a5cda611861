"""The processes the benchmark starts (each in its own session, stopped on
exit) and the CPU time of their threads."""

import os
import shutil
import signal
import subprocess

from .common import BenchError


LIVE = []  # Proc objects not yet stopped


class Proc:
    """A child in its own session, killed (INT, then KILL) on stop/exit."""

    def __init__(self, name, argv, log_path, stdin_pipe=False, runtime_dir=None, env=None,
                 cpus=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.runtime_dir = runtime_dir
        self.logf = open(log_path, "wb")
        ncpu = os.cpu_count() or 1
        allowed = set(cpus) if cpus is not None else set(range(ncpu))

        def child_setup():
            try:  # undo this script's pinning; EAL pins its own lcores
                os.sched_setaffinity(0, allowed)
            except OSError:
                pass

        try:
            self.p = subprocess.Popen(
                argv, stdout=self.logf, stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                start_new_session=True, preexec_fn=child_setup, env=env)
        except OSError as e:
            self.logf.close()
            raise BenchError(f"{name}: cannot start {argv[0]}: {e}")
        LIVE.append(self)

    def alive(self):
        return self.p.poll() is None

    def _signal(self, sig):
        try:
            os.killpg(self.p.pid, sig)  # its own process group (new session)
        except ProcessLookupError:
            pass

    def stop(self, grace=8.0):
        if self.alive():
            if self.p.stdin is not None:  # testpmd: "Press enter to exit"
                try:
                    self.p.stdin.write(b"\n")
                    self.p.stdin.flush()
                except OSError:
                    pass
                try:
                    self.p.wait(grace / 2)
                except subprocess.TimeoutExpired:
                    pass
            if self.alive():
                self._signal(signal.SIGINT)
                try:
                    self.p.wait(grace)
                except subprocess.TimeoutExpired:
                    pass
            if self.alive():
                self._signal(signal.SIGKILL)
                try:
                    self.p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        # (once the child is reaped its pid may be reused: no signals after that)
        if self.p.stdin is not None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
        self.logf.close()
        if self.runtime_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        if self in LIVE:
            LIVE.remove(self)

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    | " + l for l in lines[-n:])


def stop_all():
    for p in reversed(list(LIVE)):  # last started first (ovs-vswitchd before its ovsdb-server)
        try:
            p.stop(grace=3.0)
        except Exception:  # keep going: every child must be stopped
            pass


def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def thread_cpu_ticks(pgid):
    """{(pid, tid): utime+stime ticks} of every thread in process group pgid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # fields[0] is field 3 (state): pgrp = field 5, utime 14, stime 15
            if int(fields[2]) != pgid:
                continue
            out[(pid, tid)] = int(fields[11]) + int(fields[12])
    return out


def process_thread_ticks(pid):
    """As thread_cpu_ticks, for the threads of one process only (cheap)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[(str(pid), tid)] = int(fields[11]) + int(fields[12])
    return out


def busiest_thread_share(before, after, dt):
    """CPU share (0..1) of the busiest thread between two thread_cpu_ticks()."""
    hz = os.sysconf("SC_CLK_TCK")
    best = max((after[k] - before.get(k, after[k]) for k in after), default=0)
    return best / hz / dt if dt > 0 else 0.0
