"""kill -9 a writer in the middle of a stream of edits: everything it reported as done is there.

The kill points are drawn at random (seeded, so a failure can be replayed): a store that batched its
commits, every 25 or every 200 writes, would pass a kill that always lands after the same number of
edits when that number happens to be a multiple of the batch, and is caught here.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from f2a_studio.core.models import Box, Face
from f2a_studio.core.store import ProjectStore

WRITER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from f2a_studio.core.models import Box, Face
    from f2a_studio.core.store import ProjectStore
    stop_after = int(sys.argv[2])  # 0: never stop, keep writing until killed
    store = ProjectStore.open(sys.argv[1])
    store.record_source("writer", "w", 0)  # one more write: 2·edits + 1 is odd, so even batches show too
    face = store.faces(1)[0]
    i = 0
    while True:
        i += 1
        face = store.update_face(replace(face, box=Box(i, i, 10, 10), score=(i % 100) / 100))
        new = store.add_face(Face(image_id=1, box=Box(i, 0, 5, 5)))
        print(f"{face.revision} {new.id}", flush=True)  # printed only after both commits returned
        if i == stop_after:
            sys.stdin.readline()  # wait here (for the kill), with every reported edit returned
    """
)

SEED = 16
KILL_POINTS = random.Random(SEED).sample(range(1, 260), 4)  # edits (two writes each) before the kill


def new_project(root: Path) -> None:
    with ProjectStore.create(root) as store:
        image, _ = store.add_image(
            hash="h", cut_path="cuts/h.png", source_path="s", title_id="1", episode="1", width=10, height=10
        )
        store.add_face(Face(image_id=image.id, box=Box(0, 0, 10, 10)))


def run_and_kill(root: Path, kill_after: int, *, stop: bool) -> list[tuple[int, int]]:
    """Start the writer, SIGKILL it once it has reported `kill_after` edits; returns what it reported.
    With `stop` it waits there (the kill lands between edits), else it writes on (the kill lands anywhere)."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(kill_after if stop else 0)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    reported: list[tuple[int, int]] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            revision, new_id = map(int, line.split())
            reported.append((revision, new_id))
            if len(reported) >= kill_after:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(reported) == kill_after
    return reported


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_sigkill_between_edits_loses_no_reported_edit(tmp_path: Path, kill_after: int) -> None:
    """The writer is stopped after exactly `kill_after` edits, so the project must hold exactly them.
    Guards: "commits every N writes" (N = 25 … 200), "commit skipped", "log entry not written"."""
    root = tmp_path / "project"
    new_project(root)
    reported = run_and_kill(root, kill_after, stop=True)
    with ProjectStore.open(root) as store:
        assert not store.read_only  # the dead writer's lock went with it
        assert store.integrity_check() == "ok"
        face = store.face(1)
        assert face.revision == 1 + kill_after == reported[-1][0]
        assert face.box.x == kill_after
        assert [f.id for f in store.faces(1)] == [1, *(new_id for _, new_id in reported)]
        assert len(store.edits()) == 1 + 2 * kill_after  # the first add, then an update and an add per edit
        assert store.source_seen("writer")


def test_sigkill_mid_stream_loses_no_reported_edit(tmp_path: Path) -> None:
    """The kill lands wherever the writer is (perhaps inside a transaction): the file is sound and holds
    every reported edit; the one in flight may or may not be there."""
    root = tmp_path / "project"
    new_project(root)
    kill_after = random.Random(SEED + 1).randrange(50, 300)
    reported = run_and_kill(root, kill_after, stop=False)
    last_revision = reported[-1][0]
    with ProjectStore.open(root) as store:
        assert not store.read_only
        assert store.integrity_check() == "ok"
        face = store.face(1)
        assert face.revision >= last_revision
        assert face.box.x >= last_revision - 1
        ids = {f.id for f in store.faces(1)}
        assert all(new_id in ids for _, new_id in reported)
        assert len(store.edits()) >= 1 + 2 * len(reported)
