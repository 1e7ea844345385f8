"""Hard negatives: the finder's own confident false alarms on reviewed cuts become training negatives.

Real tiny networks of the real architecture; a "trigger-happy" start is a real network whose heatmap bias
is raised so it proposes boxes everywhere, as the pretrained finder does on text and balloons.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.finders.hard_negatives import HardNegativeConfig, mine, with_hard_negatives
from f2a_studio.detect.finders.learned import LearnedFinder
from f2a_studio.detect.finders.learned_io import InferenceConfig, save_model
from f2a_studio.detect.finders.learned_net import TINY, FaceNet
from f2a_studio.detect.finders.learned_project import FinetuneOptions, finetune_project
from f2a_studio.detect.finders.learned_train import Sample, to_network_scale
from f2a_studio.synth.scene import make_panel

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def _trigger_happy(p: float = 0.9) -> FaceNet:
    torch.manual_seed(0)
    net = FaceNet(TINY)
    with torch.no_grad():
        net.heat.bias.fill_(math.log(p / (1 - p)))
    return net.eval()


def _sample(seed: int = 0) -> Sample:
    panel = make_panel(np.random.default_rng(seed), 192, 192, n_faces=2, style="round_simple", border=False)
    boxes = np.array([f.box for f in panel.faces], np.float64)
    return to_network_scale(panel.image, boxes, np.zeros((0, 4)), InferenceConfig())


def _overlaps(a, b) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1])


def test_mined_boxes_are_the_confident_proposals_touching_no_face() -> None:
    finder = LearnedFinder.from_network(_trigger_happy(), InferenceConfig())
    sample = _sample()
    cfg = HardNegativeConfig(min_score=0.3, max_per_cut=1000)
    proposals = finder.find_boxes(sample.image, threshold=cfg.min_score)
    on_faces = [p for p in proposals if any(_overlaps(p, b) for b in sample.boxes)]
    assert on_faces, "the test needs proposals on the faces to show they are left out"
    mined = mine(finder, sample, cfg)
    expected = [p[:4] for p in proposals if not any(_overlaps(p, b) for b in sample.boxes)]
    assert len(mined) == len(expected) > 0
    np.testing.assert_allclose(mined, np.array(expected))
    assert not any(_overlaps(m, b) for m in mined for b in sample.boxes)
    # capped at the most confident few
    assert len(mine(finder, sample, HardNegativeConfig(max_per_cut=3))) == 3


def test_ignored_and_already_rejected_boxes_are_not_mined_again() -> None:
    finder = LearnedFinder.from_network(_trigger_happy(), InferenceConfig())
    sample = _sample()
    first = mine(finder, sample, HardNegativeConfig(max_per_cut=1000))
    marked = Sample(sample.image, sample.boxes, rejected=first[:5], ignore=first[5:10])
    again = mine(finder, marked, HardNegativeConfig(max_per_cut=1000))
    assert not any(_overlaps(a, b) for a in again for b in first[:10])
    assert len(again) < len(first)


def test_a_finder_that_proposes_nothing_confident_mines_nothing() -> None:
    finder = LearnedFinder.from_network(_trigger_happy(p=0.01), InferenceConfig())
    samples, n = with_hard_negatives(finder, [_sample(0), _sample(1)])
    assert n == 0 and all(len(s.rejected) == 0 for s in samples)


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="min_score"):
        HardNegativeConfig(min_score=0.0)
    with pytest.raises(ValueError, match="max_per_cut"):
        HardNegativeConfig(max_per_cut=0)


def test_train_finder_records_the_hard_negatives_it_trained_on(tmp_path: Path) -> None:
    from test_finder_learned import _project  # the same synthetic reviewed project

    base = tmp_path / "base"
    save_model(base, _trigger_happy().state_dict(), {"name": "learned", "net": TINY.to_json()}, InferenceConfig())
    _project(tmp_path / "p", 8).close()
    opts = {"base": [base], "steps": 4, "batch": 2, "crop": 128, "min_faces": 4}
    with ProjectStore.open(tmp_path / "p") as store:
        on = finetune_project(store, FinetuneOptions(**opts))
        off = finetune_project(store, FinetuneOptions(**opts, hard_negatives=False))
    assert on["data"]["train_hard_negatives"] > 0
    assert off["data"]["train_hard_negatives"] == 0
