"""Progress from a child process (core.progress_lines): the line format, the rate limit, and the studio's
reader (gui.learn.retrain.run_command) on a real subprocess that writes progress between its own output."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from f2a_studio.core import progress_lines as pl
from f2a_studio.core.jobs import CancelToken


def test_a_line_round_trips_and_other_output_is_not_progress() -> None:
    line = pl.format_line(3, 10, "loss 0.25 — 얼굴")
    assert pl.parse_line(line) == pl.ProgressLine(3, 10, "loss 0.25 — 얼굴")
    assert pl.parse_line(pl.format_line(4, None, "")) == pl.ProgressLine(4, None, "")
    for other in ("error: too few faces", "f2a-progress", "f2a-progress {", 'f2a-progress {"done": "3", "total": 1,'
                  ' "text": ""}', 'f2a-progress {"done": 1, "text": "x"}', ' ' + line):
        assert pl.parse_line(other) is None, other


def test_the_emitter_writes_only_when_asked_at_most_every_interval_and_always_the_last_step() -> None:
    now = [0.0]
    out = io.StringIO()
    emit = pl.LineEmitter(out, enabled=True, clock=lambda: now[0])
    for step in range(1, 11):  # ten steps in 0.09 s, then the last one
        emit(step, 11, f"step {step}")
        now[0] += 0.01
    emit(11, 11, "done")
    lines = [pl.parse_line(x) for x in out.getvalue().splitlines()]
    assert [(x.done, x.text) for x in lines] == [(1, "step 1"), (11, "done")]
    now[0] += pl.MIN_INTERVAL_S
    emit(12, 20, "later")
    assert pl.parse_line(out.getvalue().splitlines()[-1]).done == 12

    quiet = io.StringIO()
    pl.LineEmitter(quiet, enabled=False)(1, 1, "x")
    assert quiet.getvalue() == ""
    assert pl.wanted({pl.ENV: "1"}) and not pl.wanted({pl.ENV: "0"}) and not pl.wanted({})


CHILD = """
import os, sys
from f2a_studio.core.progress_lines import LineEmitter
emit = LineEmitter()  # on only when the parent set F2A_PROGRESS_LINES
print("result on stdout")
sys.stderr.write("a message of its own\\n")
for step in range(1, 4):
    emit(step, 3, f"step {step}")
sys.stderr.write("error: the last word\\n")
sys.exit(2)
"""


def test_the_reader_forwards_the_childs_progress_and_keeps_its_own_output(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")  # gui.learn imports nothing of Qt itself, but lives in the gui package
    from f2a_studio.gui.learn.retrain import run_command

    seen: list[tuple[int, int, str]] = []
    rc, out, err = run_command([sys.executable, "-c", CHILD], CancelToken(), {}, tmp_path,
                               lambda d, t, text: seen.append((d, t, text)))
    assert rc == 2 and out == "result on stdout\n"
    assert err == "a message of its own\nerror: the last word\n"  # progress lines are not the child's messages
    assert seen and seen[-1] == (3, 3, "step 3")  # the last step always arrives

    rc, out, err = run_command([sys.executable, "-c", CHILD], CancelToken(), {}, tmp_path)
    assert rc == 2 and "f2a-progress" not in err  # nobody asked: the child wrote no progress lines


FOREVER = """
import time
from f2a_studio.core.progress_lines import LineEmitter
emit = LineEmitter()
step = 0
while True:
    step += 1
    emit(step, None, "running")
    time.sleep(0.05)
"""


def test_a_failing_progress_callback_stops_the_child_instead_of_leaving_it_running(tmp_path: Path) -> None:
    pytest.importorskip("PySide6")
    from f2a_studio.gui.learn.retrain import run_command
    from tests.process_table import descendants, running

    children: list[set[int]] = []

    def on_progress(done: int, total: int, text: str) -> None:
        children.append({pid for pid in descendants(os.getpid())  # this child only (not a test's fork server)
                         if b"progress_lines" in Path(f"/proc/{pid}/cmdline").read_bytes()})
        raise RuntimeError("the studio's side failed")

    with pytest.raises(RuntimeError, match="studio's side"):
        run_command([sys.executable, "-c", FOREVER], CancelToken(), {}, tmp_path, on_progress)
    assert children and children[0]  # the child was running when the callback failed...
    assert not running(children[0])  # ...and is gone now
