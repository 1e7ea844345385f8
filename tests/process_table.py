"""The process tree from /proc, for tests that kill a command and check what it left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def process_table() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, state) from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    table = process_table()
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _) in table.items():
            if ppid == parent and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def running(pids: set[int]) -> set[int]:
    table = process_table()
    return {p for p in pids if p in table and table[p][1] not in ("Z", "X")}


def kill_and_collect_left(proc: subprocess.Popen, helpers: set[int], bound_s: float) -> set[int]:
    """SIGKILL `proc`, wait up to `bound_s` for `helpers` to end by themselves, and return those still
    running; whatever is left is killed afterwards, so no test leaves processes to the next."""
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(bound_s)
        deadline = time.monotonic() + bound_s
        while running(helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        return running(helpers)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in running(helpers):
            os.kill(pid, signal.SIGKILL)
