"""The learned finder: fine-tuning on a project's corrections, resume, checkpoint loading, find() output.

Real networks of the real architecture at a tiny width (learned_net.TINY), real training steps, real
synthetic projects written through the importer and the store.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from f2a_studio.core.imageio import content_hash, save_png_atomic
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders.base import FaceFinder, FinderHit
from f2a_studio.detect.finders.learned import LearnedFinder, tile_starts
from f2a_studio.detect.finders.learned_io import (
    CARD_NAME,
    WEIGHTS_NAME,
    FinderModelError,
    InferenceConfig,
    save_model,
)
from f2a_studio.detect.finders.learned_net import TINY, FaceNet
from f2a_studio.detect.finders.learned_project import (
    RESUME_NAME,
    FinetuneOptions,
    NotEnoughFaces,
    finetune_project,
    reviewed_cuts,
    split_cuts,
)
from f2a_studio.synth.scene import make_panel

STYLE = "round_simple"  # one style per project, like a title


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _project(root: Path, n_cuts: int, seed: int = 0, rejected_every: int = 0) -> ProjectStore:
    """A project of single-panel cuts whose faces a person accepted (and a few rejected false hits)."""
    store = ProjectStore.create(root)
    rng = np.random.default_rng(seed)
    for i in range(n_cuts):
        panel = make_panel(rng, 224, 224, n_faces=int(rng.integers(1, 3)), style=STYLE, border=False)
        path = root / "sources" / f"900001_1_{i:03d}.png"
        save_png_atomic(path, panel.image)
        import_sources(store, [path], workers=1)
        record = store.image_by_hash(content_hash(panel.image))
        assert record is not None, "a plain panel must import as one cut"
        for f in panel.faces:
            store.add_face(
                Face(record.id, Box(*f.box), source=FaceSource.HUMAN, status=FaceStatus.ACCEPTED), actor="human"
            )
        if rejected_every and i % rejected_every == 0:
            store.add_face(Face(record.id, Box(2, 2, 30, 30), status=FaceStatus.REJECTED), actor="human")
    return store


def _options(**kw) -> FinetuneOptions:
    base = {"base": [], "net": TINY, "steps": 120, "batch": 4, "crop": 128, "lr": 4e-3, "min_faces": 4}
    return FinetuneOptions(**(base | kw))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finder") / "p"
    _project(root, 14, rejected_every=4).close()
    return root


def test_reviewed_cuts_and_a_split_that_never_trains_on_the_held_back_part(project: Path) -> None:
    with ProjectStore.open(project, read_only=True) as store:
        cuts = reviewed_cuts(store)
        assert len(cuts) == 14
        assert sum(len(c.rejected) for c in cuts) == 4
        train, held = split_cuts(cuts)
        assert held and any(c.faces for c in held)
        assert not {c.image.id for c in train} & {c.image.id for c in held}
        assert {c.image.id for c in split_cuts(cuts[::-1])[1]} == {c.image.id for c in held}  # order-free


def test_finetuning_raises_recall_on_held_back_cuts(project: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    with ProjectStore.open(project) as store:
        card = finetune_project(store, _options(steps=300))
        m = card["metrics_iou_0.3"]
        before, after = m["held_back_before"], m["held_back_after"]
        assert after["faces"] == before["faces"] > 0
        # the untrained network finds nothing; after fine-tuning the held-back cuts' faces are found
        assert after["recall"] > before["recall"]
        assert card["data"]["train_rejected"] > 0
        out = store.checkpoints_dir
        assert (out / WEIGHTS_NAME).is_file() and (out / CARD_NAME).is_file()
        assert not (out / RESUME_NAME).exists()
        # the written checkpoint is found first on the project's search path and finds the same faces
        finder = LearnedFinder([out, tmp_path])
        finder.load()
        assert finder.model_file() is not None and finder.model_file().name == WEIGHTS_NAME
        assert finder.inference.mirror  # a project's finder reads each tile and its mirror (TUNED_INFERENCE)
        held = json.loads((out / CARD_NAME).read_text())["data"]["held_back_cuts"]
        assert held == card["data"]["held_back_cuts"]


def test_too_few_faces_says_how_many_are_needed(tmp_path: Path) -> None:
    with _project(tmp_path / "small", 3) as store:
        n = sum(len(store.faces(i.id)) for i in store.images())
        with pytest.raises(NotEnoughFaces) as err:
            finetune_project(store, _options(min_faces=20))
        text = str(err.value)
        assert "at least 20" in text and f"{n} accepted or hand-drawn" in text


def test_unreviewed_cuts_are_not_used(tmp_path: Path) -> None:
    with _project(tmp_path / "u", 3) as store:
        image = store.images()[0]
        store.add_faces([Face(image.id, Box(10, 10, 40, 40))], actor="detector")  # waiting for review
        assert image.id not in {c.image.id for c in reviewed_cuts(store)}
        assert len(reviewed_cuts(store)) == 2


def test_interrupted_training_resumes_where_it_stopped(project: Path, tmp_path: Path) -> None:
    import shutil

    copies = []
    for name in ("a", "b"):
        shutil.copytree(project, tmp_path / name, ignore=shutil.ignore_patterns("checkpoints"))
        copies.append(tmp_path / name)
    opts = _options(steps=60)
    with ProjectStore.open(copies[0]) as store:
        torch.manual_seed(0)
        whole = finetune_project(store, opts)
        ref = (store.checkpoints_dir / WEIGHTS_NAME).read_bytes()
    with ProjectStore.open(copies[1]) as store:
        calls = {"n": 0}

        def stop_after_30() -> bool:
            calls["n"] += 1
            return calls["n"] > 30

        torch.manual_seed(0)
        first = finetune_project(store, opts, should_stop=stop_after_30)
        assert first == {"interrupted": True, "steps_done": 30, "steps": 60}
        assert (store.checkpoints_dir / RESUME_NAME).is_file()
        assert not (store.checkpoints_dir / WEIGHTS_NAME).exists()
        torch.manual_seed(0)
        second = finetune_project(store, opts)
        assert second["train"]["resumed_from"] == 30
        got = (store.checkpoints_dir / WEIGHTS_NAME).read_bytes()
    from safetensors.torch import load

    a, b = load(ref), load(got)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k
    assert whole["train"]["resumed_from"] == 0


def _saved(folder: Path, seed: int = 0) -> FaceNet:
    torch.manual_seed(seed)
    net = FaceNet(TINY)
    save_model(folder, net.state_dict(), {"name": "learned", "net": TINY.to_json()}, InferenceConfig(threshold=0.0))
    return net


def test_backend_loads_from_the_first_folder_of_the_search_path_that_has_it(tmp_path: Path) -> None:
    empty, first, second = tmp_path / "empty", tmp_path / "one", tmp_path / "two"
    empty.mkdir()
    _saved(first, 1)
    _saved(second, 2)
    assert not LearnedFinder.available([empty])
    assert LearnedFinder.available([empty, second])
    finder = LearnedFinder([empty, first, second])
    assert isinstance(finder, FaceFinder)
    finder.load()
    assert finder.folder == first
    with pytest.raises(FinderModelError, match="no learned finder model"):
        LearnedFinder([empty]).load()


def test_a_pickled_or_corrupt_checkpoint_is_refused_clearly(tmp_path: Path) -> None:
    net = _saved(tmp_path / "p")
    weights = tmp_path / "p" / WEIGHTS_NAME
    torch.save(net.state_dict(), weights)  # a torch pickle under the safetensors name
    with pytest.raises(FinderModelError, match="pickled torch checkpoint"):
        LearnedFinder([tmp_path / "p"]).load()
    weights.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(FinderModelError, match="pickled"):
        LearnedFinder([tmp_path / "p"]).load()
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(FinderModelError, match="not a valid safetensors file"):
        LearnedFinder([tmp_path / "p"]).load()
    _saved(tmp_path / "q")
    (tmp_path / "q" / CARD_NAME).write_text('{"net": {"architecture": "yolo"}}')
    with pytest.raises(FinderModelError, match="bad network config"):
        LearnedFinder([tmp_path / "q"]).load()


def test_find_returns_finder_hits_in_image_coordinates_on_tall_tiled_images(tmp_path: Path) -> None:
    _saved(tmp_path / "m")
    finder = LearnedFinder([tmp_path / "m"])
    finder.load()  # threshold 0: every heatmap peak is a proposal
    rng = np.random.default_rng(4)
    tall = rng.integers(0, 255, (1900, 700, 3), dtype=np.uint8)  # tiled: scaled to 512 wide, 4 tiles tall
    hits = finder.find(tall)
    assert hits and all(isinstance(h, FinderHit) for h in hits)
    for h in hits:
        assert h.box.x >= 0 and h.box.y >= 0 and h.box.x2 <= 700 + 1e-6 and h.box.y2 <= 1900 + 1e-6
        assert 0.0 <= h.raw_score <= 1.0
    centres = np.array([h.box.center for h in hits])
    assert centres[:, 1].max() > 1400  # the bottom tiles are mapped back, not piled up at the top
    scores = [h.raw_score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert tile_starts(600, 512, 160) == [0, 88] and tile_starts(400, 512, 160) == [0]


def test_cli_train_finder_explains_what_it_needs_and_trains(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from f2a_studio.cli import app

    runner = CliRunner()
    _project(tmp_path / "few", 2).close()
    res = runner.invoke(app, ["train-finder", str(tmp_path / "few")])
    assert res.exit_code == 2
    assert "needs at least 20" in " ".join(res.output.split())

    _project(tmp_path / "ok", 8).close()
    _saved(tmp_path / "models")  # a pretrained finder on the search path ($F2A_MODELS)
    res = runner.invoke(
        app,
        ["train-finder", str(tmp_path / "ok"), "--steps", "6", "--min-faces", "4", "--threads", "1", "--json"],
        env={"F2A_MODELS": str(tmp_path / "models")},
    )
    assert res.exit_code == 0, res.output
    card = json.loads(res.stdout.strip().splitlines()[-1])
    assert card["base_model"]["folder"] == str(tmp_path / "models")
    assert card["train"]["steps"] == 6
    assert card["metrics_iou_0.3"]["held_back_after"]["faces"] == card["data"]["held_back_faces"] > 0
    assert (tmp_path / "ok" / "checkpoints" / WEIGHTS_NAME).is_file()


def test_mirror_inference_sees_a_mirrored_page_as_the_mirror_of_the_page(tmp_path: Path) -> None:
    from dataclasses import replace

    from f2a_studio.detect.finders.learned import mirrored_outputs

    net = _saved(tmp_path / "m", seed=3).eval()
    page = torch.rand(1, 3, 224, 256, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        plain, plain_flipped = net(page), net(page.flip(-1))
        both, both_flipped = mirrored_outputs(net, page), mirrored_outputs(net, page.flip(-1))
    assert not torch.allclose(plain[0], plain_flipped[0].flip(-1), atol=1e-4)  # a net is not mirror-symmetric
    assert torch.allclose(both[0], both_flipped[0].flip(-1), atol=1e-5)  # heat: the same cells, flipped back
    assert torch.allclose(both[1][:, 2:], both_flipped[1][:, 2:].flip(-1), atol=1e-5)  # sizes
    assert torch.equal(both[1][:, :2], plain[1][:, :2])  # centre offsets: the plain pass's

    finder = LearnedFinder([tmp_path / "m"])
    finder.load()
    img = (page[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    best_plain = finder.find_boxes(img, threshold=0.0)[0]
    finder.inference = replace(finder.inference, mirror=True)
    hits = finder.find_boxes(img, threshold=0.0)
    mirrored = finder.find_boxes(np.ascontiguousarray(img[:, ::-1]), threshold=0.0)
    assert hits[0] != best_plain
    assert hits[0][4] == pytest.approx(mirrored[0][4], abs=1e-6)  # the same best peak, seen from either side
