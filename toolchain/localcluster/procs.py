"""Processes of the local cluster: start with a log file, wait for readiness, stop by pid.

Every process is started in its own session with its output in ``logs/<name>.log``; a process that
dies while the cluster waits for something is reported with the tail of its log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READY_TIMEOUT = float(os.environ.get("B00T_CLUSTER_TIMEOUT", "180"))


class ClusterError(Exception):
    """The local cluster could not do what was asked; the message says why and where to look."""


def log(msg: str) -> None:
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Proc:
    """A process the cluster started: its name (also the log's), pid and executable."""

    name: str
    pid: int
    exe: str
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid, Path(self.exe).name)

    def died(self) -> str | None:
        """Why the process is gone (exit code and log tail), or None while it runs."""
        if self.alive():
            return None
        code = self.popen.returncode if self.popen is not None else "?"
        return f"{self.name} exited (code {code}); last lines of {self.log}:\n{log_tail(self.log)}"

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "exe": self.exe, "log": str(self.log)}

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> Proc:
        return cls(name, int(data["pid"]), str(data["exe"]), Path(data["log"]))


def pid_alive(pid: int, exe_hint: str) -> bool:
    """True when ``pid`` runs and is the process we started (its command line names ``exe_hint``)."""
    if pid <= 0:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie is dead
        return False
    return bool(cmdline) and exe_hint.encode() in cmdline[0]


def start(name: str, argv: Sequence[str], logs: Path, env: Mapping[str, str] | None = None) -> Proc:
    logs.mkdir(parents=True, exist_ok=True)
    logfile = logs / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    popen = subprocess.Popen(list(argv), stdout=logfile.open("wb"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=full_env)
    return Proc(name, popen.pid, argv[0], logfile, popen)


def stop(proc: Proc, timeout: float = 15) -> None:
    hint = Path(proc.exe).name
    if not pid_alive(proc.pid, hint):
        return
    os.kill(proc.pid, signal.SIGTERM)
    t0 = time.monotonic()
    while pid_alive(proc.pid, hint) and time.monotonic() - t0 < timeout:
        time.sleep(0.1)
    if pid_alive(proc.pid, hint):
        log(f"{proc.name} (pid {proc.pid}) did not stop after SIGTERM; sending SIGKILL")
        os.kill(proc.pid, signal.SIGKILL)
    if proc.popen is not None:
        proc.popen.wait(timeout=5)


def wait_for(what: str, check: Callable[[], bool], *, timeout: float = READY_TIMEOUT,
             procs: Sequence[Proc] = (), quiet: bool = False) -> float:
    """Poll ``check`` until true; fail with the log tail of any of ``procs`` that dies meanwhile."""
    t0 = time.monotonic()
    last = 0.0
    while True:
        if check():
            took = time.monotonic() - t0
            if not quiet:
                log(f"{what}: ready after {took:.1f}s")
            return took
        for p in procs:
            why = p.died()
            if why:
                raise ClusterError(f"{why}\n(while waiting for {what})")
        elapsed = time.monotonic() - t0
        if elapsed > timeout:
            logs = procs[0].log.parent if procs else "-"
            raise ClusterError(f"{what}: not ready after {timeout:.0f}s (logs: {logs})")
        if elapsed - last >= 5:
            log(f"{what}: waiting ({elapsed:.0f}s)...")
            last = elapsed
        time.sleep(0.25)


class State:
    """``state.json``: ports, token, paths and the processes, written after every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        self.procs: dict[str, Proc] = {}

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        st = cls(path)
        st.data = {k: v for k, v in data.items() if k != "procs"}
        st.procs = {n: Proc.from_json(n, p) for n, p in (data.get("procs") or {}).items()}
        return st

    def add(self, proc: Proc) -> None:
        self.procs[proc.name] = proc
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {**self.data, "procs": {n: p.to_json() for n, p in self.procs.items()}}
        self.path.write_text(json.dumps(body, indent=2) + "\n")
