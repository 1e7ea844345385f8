"""The FAN landmark backend, with a random-weight checkpoint of the real 2DFAN-4 architecture on disk.

Random weights give meaningless points; what is tested is the path: found on disk (models/ or the torch
hub cache), chosen over the template, loaded without any network, run on a detector box, and a file that
is not FAN weights refused with a clear message.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
fa_models = pytest.importorskip("face_alignment.models")

from f2a_studio.core.errors import F2AError  # noqa: E402
from f2a_studio.core.models import Box, Parts  # noqa: E402
from f2a_studio.detect.landmarks import available_backends, choose_backend, load_backend  # noqa: E402
from f2a_studio.detect.landmarks.fan import WEIGHTS_NAME, FanBackend, find_weights  # noqa: E402
from f2a_studio.synth.scene import make_character_image  # noqa: E402


@pytest.fixture(scope="module")
def fan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    torch.save(fa_models.FAN(4).state_dict(), folder / WEIGHTS_NAME)
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the FAN backend tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_fan_is_chosen_when_its_weights_are_on_disk(fan_dir: Path, empty_hub: Path, no_network: None) -> None:
    assert available_backends(fan_dir) == ["fan", "template"]
    backend = choose_backend(fan_dir)
    assert isinstance(backend, FanBackend)
    backend.load()
    panel = make_character_image(np.random.default_rng(4), 256)
    box = Box(*panel.faces[0].box)
    result = backend.predict(panel.image, box, Parts(), p_female=0.5)
    assert result.backend == "fan"
    assert result.points.shape == (68, 2) and np.isfinite(result.points).all()
    assert result.points.dtype == np.float64
    assert result.confidence is not None and result.confidence.shape == (68,)
    # heat-map peaks decode inside the 200·scale crop around the box (wherever random weights put them)
    reach = (box.w + box.h) / 195 * 200 / 2 + 1
    cx, cy = box.x + box.w / 2, box.y + box.h / 2 - 0.12 * box.h
    assert np.all(np.abs(result.points - (cx, cy)) <= reach)
    assert not list(empty_hub.parent.parent.glob("**/*.pth*"))  # nothing was downloaded into the cache


def test_torch_hub_cache_is_searched_too(fan_dir: Path, empty_hub: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    assert available_backends(models) == ["template"]
    empty_hub.mkdir(parents=True)
    (empty_hub / WEIGHTS_NAME).symlink_to(fan_dir / WEIGHTS_NAME)
    assert find_weights(models) == empty_hub / WEIGHTS_NAME
    assert available_backends(models) == ["fan", "template"]


def test_weights_of_another_network_are_refused_clearly(tmp_path: Path, empty_hub: Path) -> None:
    torch.save(fa_models.FAN(1).state_dict(), tmp_path / WEIGHTS_NAME)  # the wrong depth of FAN
    with pytest.raises(F2AError, match="do not fit face-alignment's FAN-4"):
        FanBackend(tmp_path).load()
    (tmp_path / WEIGHTS_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(F2AError, match="not a loadable FAN weights file"):
        FanBackend(tmp_path).load()


def test_asking_for_a_missing_backend_says_where_it_looked(tmp_path: Path, empty_hub: Path) -> None:
    with pytest.raises(F2AError, match="not available"):
        choose_backend(tmp_path, "fan")
    with pytest.raises(F2AError, match="unknown landmark backend"):
        choose_backend(tmp_path, "dlib")
    with pytest.raises(F2AError, match="unknown landmark backend 'dlib'; known: "):  # not a bare KeyError
        load_backend(tmp_path, "dlib", domain="human")
    assert choose_backend(tmp_path).name == "template"


# Not marked slow any more: neither `make test` nor CI ran it. Its cost is a worker's torch import and one
# FAN-4 forward pass (~3 s at one thread); FanBackend takes FAN-4 weights only (a smaller FAN is refused,
# see above), so the checkpoint cannot be made tinier than the real architecture with random weights.
def test_fan_runs_inside_the_detection_workers(fan_dir: Path, empty_hub: Path, tmp_path: Path) -> None:
    from f2a_studio.core.imageio import save_png_atomic
    from f2a_studio.detect import DetectOptions, detect_files

    panel = make_character_image(np.random.default_rng(2), 300)
    save_png_atomic(tmp_path / "face.png", panel.image)
    [result] = detect_files([tmp_path / "face.png"], DetectOptions(workers=1, models_dir=str(fan_dir)))
    assert result.ok and result.landmark_backend == "fan"
    assert result.faces and len(result.faces[0].landmarks) == 68
