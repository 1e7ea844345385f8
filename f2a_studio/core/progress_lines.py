"""Progress of one process, read by another: a trainer the studio runs as a subprocess (gui/learn/retrain.py)
tells its step as lines on stderr, so the studio can show "step 120/600" inside a stage that takes minutes.

A parent that wants the lines sets `F2A_PROGRESS_LINES=1` in the child's environment; the child's
progress callback (`cli.progress_callback`) then writes `f2a-progress {"done": d, "total": t, "text": s}` lines
beside its usual output, at most one every `MIN_INTERVAL_S` (and always the last one). Any other line is the
child's own message and is kept as such by the reader.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import TextIO

ENV = "F2A_PROGRESS_LINES"
PREFIX = "f2a-progress "
MIN_INTERVAL_S = 0.2  # a line per training step would flood the pipe for nothing: the studio shows the latest


@dataclass(frozen=True)
class ProgressLine:
    done: int
    total: int | None
    text: str


def format_line(done: int, total: int | None, text: str) -> str:
    return PREFIX + json.dumps({"done": int(done), "total": None if total is None else int(total), "text": text},
                               ensure_ascii=False)


def parse_line(line: str) -> ProgressLine | None:
    """The progress a line carries, or None when it is any other output (or a damaged progress line)."""
    if not line.startswith(PREFIX):
        return None
    try:
        value = json.loads(line[len(PREFIX):])
        done, total, text = value["done"], value["total"], value["text"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(done, int) or not (total is None or isinstance(total, int)) or not isinstance(text, str):
        return None
    return ProgressLine(done, total, text)


def wanted(environ: dict[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get(ENV, "") not in ("", "0")


class LineEmitter:
    """Writes progress lines to `stream` (stderr), rate-limited; a no-op unless the parent asked for them."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None,
                 clock=time.monotonic) -> None:
        self.stream = stream
        self.enabled = wanted() if enabled is None else enabled
        self._clock = clock
        self._last = -float("inf")

    def __call__(self, done: int, total: int | None, text: str) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last < MIN_INTERVAL_S and done != total:
            return
        self._last = now
        stream = self.stream or sys.stderr
        stream.write(format_line(done, total, text) + "\n")
        stream.flush()  # a pipe is block-buffered: without it the parent sees nothing until the end
