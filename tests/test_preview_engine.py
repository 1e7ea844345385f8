"""The preview engine on real (small) generators: sizes, the keypoint drawing it feeds, latest-wins, safety."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from preview_nets import ResnetGenerator, UnetGenerator

from f2a_studio.core.keypoints import aligned_keypoint_image
from f2a_studio.preview import (
    Engine,
    EngineOptions,
    GeneratorKind,
    InputSpec,
    LatestWinsWorker,
    PreviewError,
    PreviewRequest,
    PreviewResult,
    UnsafeCheckpointError,
)
from f2a_studio.preview.frames import square_photo
from f2a_studio.preview.loader import load_generator
from f2a_studio.preview.safeload import read_tensors
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose

TORCH_ONLY = EngineOptions(runtimes=("torch",), warmup=1, measure=1)


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    """A drawn synthetic character: (cut pixels, 68 [x, y, v] landmarks)."""
    rng = np.random.default_rng(3)
    image = np.full((360, 420, 3), 255, np.uint8)
    truth = draw_character(image, sample_character(rng), Pose(210, 180, 120))
    landmarks = np.column_stack([np.array(truth.landmarks), np.array(truth.visibility, float)])
    return image, landmarks


@pytest.fixture(scope="module")
def unet() -> torch.nn.Module:
    torch.manual_seed(0)
    return UnetGenerator(3, 3, num_downs=6, ngf=8).eval()


@pytest.mark.parametrize("size", [64, 128])
def test_engine_renders_the_export_drawing_at_the_models_size(face, unet, size: int) -> None:
    _, landmarks = face
    engine = Engine.from_module(unet, InputSpec(size=size), TORCH_ONLY)
    result = engine.render(PreviewRequest(landmarks=landmarks, tag="f1"), request_id=7)
    assert result.error is None and result.request_id == 7 and result.tag == "f1"
    assert result.output.shape == (size, size, 3) and result.output.dtype == np.uint8
    # A is exactly the export's keypoint drawing, and B is the generator applied to it
    assert np.array_equal(result.input, aligned_keypoint_image(landmarks, size))
    x = torch.from_numpy(result.input).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.inference_mode():
        expected = ((unet(x)[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert np.abs(result.output.astype(float) - expected).max() <= 1.0
    assert result.output.std() > 0  # a real image, not a constant
    assert result.runtime.runtime == "torch" and result.runtime.device == "cpu"
    assert result.runtime.precision == "fp32"
    assert result.latency.total_ms >= result.latency.infer_ms > 0
    assert engine.report.chosen.measured_ms is not None


def test_engine_does_not_touch_the_callers_module(unet) -> None:
    before = {k: v.clone() for k, v in unet.state_dict().items()}
    Engine.from_module(unet, InputSpec(size=64), TORCH_ONLY)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in unet.parameters())
    assert all(torch.equal(before[k], v) for k, v in unet.state_dict().items())


def test_face_model_translates_the_aligned_crop_or_a_photo(face) -> None:
    image, landmarks = face
    torch.manual_seed(1)
    net = ResnetGenerator(3, 3, ngf=8, n_blocks=1).eval()
    engine = Engine.from_module(net, InputSpec(kind=GeneratorKind.FACE, size=64), TORCH_ONLY)
    on_cut = engine.render(PreviewRequest(landmarks=landmarks, image=image))
    assert on_cut.error is None and on_cut.output.shape == (64, 64, 3)
    assert on_cut.input.mean() < 250  # the crop holds the drawn face, not the white page
    photo = np.random.default_rng(0).integers(0, 256, (90, 150, 3), dtype=np.uint8)
    dropped = engine.render(PreviewRequest(image=photo))
    assert dropped.error is None and dropped.input.shape == (64, 64, 3)
    # the photo's centred square, resized: its left and right 30 columns are cut off
    assert np.array_equal(dropped.input, square_photo(photo, 64))
    assert not np.array_equal(square_photo(photo, 64), square_photo(photo[:, :90], 64))
    keypoints_only = engine.render(PreviewRequest(landmarks=landmarks))
    assert keypoints_only.output is None and "translates faces" in keypoints_only.error


def test_unlabelled_eyes_come_back_as_an_error_not_a_crash(face, unet) -> None:
    _, landmarks = face
    broken = landmarks.copy()
    broken[36:48, 2] = 0
    engine = Engine.from_module(unet, InputSpec(size=64), TORCH_ONLY)
    result = engine.render(PreviewRequest(landmarks=broken))
    assert result.output is None and "eye" in result.error
    assert engine.render(PreviewRequest()).error.startswith("generator draws from keypoints")


def test_latest_wins_drops_stale_requests(face, unet) -> None:
    _, landmarks = face
    engine = Engine.from_module(unet, InputSpec(size=64), TORCH_ONLY)
    gate, entered = threading.Event(), threading.Event()
    ran: list[int] = []
    results: list[PreviewResult] = []

    def render(request: PreviewRequest, request_id: int, waited_ms: float) -> PreviewResult:
        ran.append(request_id)
        if request_id == 1:  # hold the worker on the first request while a burst arrives
            entered.set()
            assert gate.wait(10)
        return engine.render(request, request_id, waited_ms)

    worker = LatestWinsWorker(render, results.append)
    try:
        first = worker.submit(PreviewRequest(landmarks=landmarks, tag=0))
        assert entered.wait(10)
        moved = []
        for k in range(1, 6):  # a drag: the nose tip moves right by k px
            pts = landmarks.copy()
            pts[30, 0] += 4 * k
            moved.append(pts)
            last = worker.submit(PreviewRequest(landmarks=pts, tag=k))
        gate.set()
        assert worker.wait_idle(30)
    finally:
        worker.close()
    assert ran == [first, last]  # the four requests in between never ran
    assert [r.request_id for r in results] == [first, last]
    assert results[-1].tag == 5
    assert np.array_equal(results[-1].input, aligned_keypoint_image(moved[-1], 64))
    stats = worker.stats
    assert (stats.submitted, stats.rendered, stats.dropped) == (6, 2, 4)
    assert results[-1].latency.waited_ms >= 0


def test_a_failing_render_does_not_kill_the_worker(face, unet) -> None:
    _, landmarks = face
    engine = Engine.from_module(unet, InputSpec(size=64), TORCH_ONLY)
    results: list[PreviewResult] = []

    def render(request: PreviewRequest, request_id: int, waited_ms: float) -> PreviewResult:
        if request.tag == "boom":
            raise RuntimeError("out of memory")
        return engine.render(request, request_id, waited_ms)

    worker = LatestWinsWorker(render, results.append)
    try:
        worker.submit(PreviewRequest(landmarks=landmarks, tag="boom"))
        assert worker.wait_idle(30)
        worker.submit(PreviewRequest(landmarks=landmarks, tag="ok"))
        assert worker.wait_idle(30)
    finally:
        worker.close()
    assert "out of memory" in results[0].error and results[1].error is None


class Payload:
    """Any class: unpickling it means running code from the file."""

    def __reduce__(self):
        return (print, ("this ran on load",))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt"])
def test_a_pickle_checkpoint_with_arbitrary_objects_is_refused(tmp_path: Path, unet, suffix: str, capsys) -> None:
    path = tmp_path / f"evil{suffix}"
    torch.save({"state_dict": unet.state_dict(), "payload": Payload()}, path)
    with pytest.raises(UnsafeCheckpointError) as caught:
        load_generator(path)
    assert str(path) in str(caught.value) and "safetensors" in str(caught.value)
    assert "this ran on load" not in capsys.readouterr().out
    with pytest.raises(UnsafeCheckpointError):
        Engine.load(path)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(UnsafeCheckpointError, match=r"raw\.pkl"):
        read_tensors(raw)
    assert "this ran on load" not in capsys.readouterr().out


def test_plain_state_dicts_load_but_are_not_guessed_at(tmp_path: Path, unet) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "weights.pt"
    torch.save({"netG": unet.state_dict()}, path)
    assert set(read_tensors(path)) == set(unet.state_dict())
    st = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in unet.state_dict().items()}, str(st))
    assert set(read_tensors(st)) == set(unet.state_dict())
    with pytest.raises(PreviewError, match="does not say which network"):
        load_generator(path)
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(PreviewError, match=r"broken\.safetensors"):
        read_tensors(tmp_path / "broken.safetensors")


def test_unknown_runtime_and_nothing_to_run_say_so(unet) -> None:
    with pytest.raises(ValueError, match="known: torch"):
        Engine.from_module(unet, InputSpec(size=64), EngineOptions(runtimes=("tensorrt",)))
    from f2a_studio.preview.runtimes import ModelSource

    with pytest.raises(PreviewError, match="no runtime"):
        Engine.from_source(ModelSource(name="empty"), InputSpec(size=64), EngineOptions(runtimes=("torch",)))
