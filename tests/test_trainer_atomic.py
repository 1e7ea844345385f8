"""trainer/atomic.py, under every checkpoint, log and config the trainer writes: a reader sees the old file or
the whole new one, a failed writer leaves the old file and no temp file, and nothing stays open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainer.atomic import write_bytes, write_with


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_write_bytes_puts_exactly_the_bytes_at_the_path_and_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "latest.json"
    write_bytes(target, b'{"checkpoint": "step-00000001.json"}\n')
    assert target.read_bytes() == b'{"checkpoint": "step-00000001.json"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json"]  # the temp file was renamed, not copied


def test_a_second_write_replaces_the_first_whole(tmp_path: Path) -> None:
    target = tmp_path / "log.json"
    write_bytes(target, b"x" * 1000)
    write_bytes(target, b"short")
    assert target.read_bytes() == b"short"


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    # a fresh run writes RUN/checkpoints/… before either folder exists
    target = tmp_path / "run" / "checkpoints" / "step-00000001.json"
    write_bytes(target, b"{}")
    assert target.read_bytes() == b"{}"


def test_the_writer_gets_a_temp_file_beside_the_target_not_the_target(tmp_path: Path) -> None:
    target = tmp_path / "weights.safetensors"
    write_bytes(target, b"old")
    seen: list[Path] = []

    def writer(temp: Path) -> None:
        seen.append(temp)
        assert target.read_bytes() == b"old"  # mid-write, readers still see the old file
        temp.write_bytes(b"new")

    write_with(target, writer)
    assert seen[0].parent == tmp_path and seen[0] != target
    assert target.read_bytes() == b"new"
    assert not seen[0].exists()


def test_a_failing_writer_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "step-00000002.resume.pt"
    write_bytes(target, b"complete old checkpoint")

    def dies_half_way(temp: Path) -> None:
        temp.write_bytes(b"half of a ")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_with(target, dies_half_way)
    assert target.read_bytes() == b"complete old checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_no_file_descriptor_stays_open(tmp_path: Path) -> None:
    # a long run writes thousands of logs and checkpoints: a leaked descriptor per write ends in EMFILE
    before = _open_fds()
    for k in range(20):
        write_bytes(tmp_path / f"f{k}.json", b"{}")
    assert _open_fds() - before == set()
