"""Run a command without root's power to ignore permission bits.

As root, chmod stops nothing, so read-only folders and unreadable files can only be tested from a process
that has given up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. It stays uid 0 (so it can still reach the
interpreter under /root) but is bound by the owner's permission bits like any user.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def _drop_dac_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_without_dac(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run `python args...` bound by file permission bits (as a non-root user always is)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux capabilities")
    preexec = _drop_dac_capabilities if os.geteuid() == 0 else None
    probe_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"f2a-dac-probe-{os.getpid()}"
    probe_file.write_text("x")
    probe_file.chmod(0)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", f"open({str(probe_file)!r}).read()"], preexec_fn=preexec, capture_output=True
        )
    finally:
        probe_file.unlink()
    if probe.returncode == 0:
        pytest.skip("cannot give up the power to read unreadable files here")
    return subprocess.run([sys.executable, *args], preexec_fn=preexec, capture_output=True, text=True, **kwargs)
