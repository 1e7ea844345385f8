"""Start a throw-away X server (Xvfb) for real-window tests; the caller terminates it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest


def start_xvfb(screen: str = "1600x1000x24") -> tuple[subprocess.Popen, str]:
    for number in range(87, 120):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", screen, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return proc, f":{number}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    pytest.fail("could not start Xvfb on any display :87–:119")
