"""kill -9 a writer in the middle of a stream of edits: everything it reported as done is there."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from f2a_studio.core.models import Box, Face
from f2a_studio.core.store import ProjectStore

WRITER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from f2a_studio.core.models import Box, Face
    from f2a_studio.core.store import ProjectStore
    store = ProjectStore.open(sys.argv[1])
    face = store.faces(1)[0]
    i = 0
    while True:
        i += 1
        face = store.update_face(replace(face, box=Box(i, i, 10, 10), score=(i % 100) / 100))
        new = store.add_face(Face(image_id=1, box=Box(i, 0, 5, 5)))
        print(f"{face.revision} {new.id}", flush=True)  # printed only after both commits returned
    """
)


def test_sigkill_mid_stream_loses_no_reported_edit(tmp_path: Path) -> None:
    root = tmp_path / "project"
    with ProjectStore.create(root) as store:
        image, _ = store.add_image(
            hash="h", cut_path="cuts/h.png", source_path="s", title_id="1", episode="1", width=10, height=10
        )
        store.add_face(Face(image_id=image.id, box=Box(0, 0, 10, 10)))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE, text=True)
    reported: list[tuple[int, int]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        revision, new_id = map(int, line.split())
        reported.append((revision, new_id))
        if len(reported) >= 300:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    last_revision = reported[-1][0]
    with ProjectStore.open(root) as store:
        assert not store.read_only  # the dead writer's lock went with it
        assert store.integrity_check() == "ok"
        face = store.face(1)
        assert face.revision >= last_revision
        assert face.box.x >= last_revision - 1
        ids = {f.id for f in store.faces(1)}
        assert all(new_id in ids for _, new_id in reported)
        # the append-only log holds an entry for every reported edit
        assert len(store.edits()) >= 1 + 2 * len(reported)
