"""detect.disagreement.learned_spread: the review queue's landmark signal. The shipped landmark model (real,
small, pretrained on synthetic faces) on synthetic faces of its training styles, and on the same faces
perturbed so that it can only guess."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from f2a_studio.core.models import Box, Face, FaceSource
from f2a_studio.core.search_path import PACKAGE_MODELS
from f2a_studio.detect.disagreement import JITTERS, _moved, landmark_disagreement, learned_spread
from f2a_studio.detect.landmarks.learned import STEM, load_net, predict_points
from f2a_studio.synth.scene import make_character_image
from tests.learn_projects import parts_of


@pytest.fixture(scope="module")
def net():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_net(PACKAGE_MODELS)[0]
    torch.set_num_threads(before)


def faces(styles=("anime", "round_simple"), n: int = 4):
    """(pixels, box, p_female) of synthetic one-face panels in styles the shipped model was trained on."""
    out = []
    for s, style in enumerate(styles):
        for i in range(n):
            panel = make_character_image(np.random.default_rng([7, s, i]), 160, style=style)
            truth = panel.faces[0]
            out.append((panel.image[:, :, :3].copy(), list(truth.box), 1.0 if truth.sex == "female" else 0.0))
    return out


def upside_down(pixels: np.ndarray, box: list[float]) -> tuple[np.ndarray, list[float]]:
    x, y, w, h = box
    return np.ascontiguousarray(pixels[::-1]), [x, pixels.shape[0] - y - h, w, h]


def test_faces_the_model_knows_spread_less_than_faces_it_can_only_guess(net) -> None:
    known, guessed = [], []
    for k, (pixels, box, p) in enumerate(faces()):
        known.append(learned_spread(net, pixels, box, p))
        flipped, flipped_box = upside_down(pixels, box)  # a pose it never saw
        noise = np.random.default_rng(k).integers(0, 256, pixels.shape, dtype=np.uint8)  # no face at all
        guessed += [learned_spread(net, flipped, flipped_box, p), learned_spread(net, noise, box, p)]
        assert known[-1] < min(guessed[-2:]), f"face {k}: {known[-1]:.3f} vs {guessed[-2:]}"
    # the queue's order: every face the model knows ranks below every one it guesses
    assert max(known) < min(guessed), (known, guessed)


def test_on_a_featureless_image_the_points_follow_the_crop(net) -> None:
    """Nothing to see: every moved crop looks the same, so the model's points move with the crop and the
    spread is the crop's own motion, worked out here from the boxes alone."""
    pixels = np.full((300, 300, 3), 180, np.uint8)
    box = [90.0, 80.0, 110.0, 120.0]
    base = predict_points(net, pixels, box, 0.5)[0]
    x, y, w, h = box
    centre = np.array([x + w / 2, y + h / 2])
    iod = np.linalg.norm(base[36:42].mean(0) - base[42:48].mean(0))
    expected = []
    for jitter in JITTERS:
        mx, my, mw, mh = _moved(box, *jitter)
        moved = np.array([mx + mw / 2, my + mh / 2]) + (base - centre) * (mw / w)  # same crop points
        expected.append(np.mean(np.linalg.norm(moved - base, axis=1)) / iod)
    assert learned_spread(net, pixels, box, 0.5) == pytest.approx(float(np.mean(expected)), rel=1e-5)


def test_given_points_are_the_base_the_jittered_ones_are_measured_from(net) -> None:
    pixels, box, p = faces(("anime",), 1)[0]
    own = predict_points(net, pixels, box, p)[0]
    assert learned_spread(net, pixels, box, p, points=own) == learned_spread(net, pixels, box, p)
    off = own + np.array([box[2] * 0.2, 0.0])  # points elsewhere than the model puts them disagree more
    assert learned_spread(net, pixels, box, p, points=off) > learned_spread(net, pixels, box, p, points=own)


def test_landmark_disagreement_is_the_spread_and_empty_without_a_loadable_model(net, tmp_path: Path) -> None:
    panel = make_character_image(np.random.default_rng(3), 160, style="anime")
    truth = panel.faces[0]
    face = Face(1, Box(*truth.box), id=11, source=FaceSource.DETECTOR, parts=parts_of(truth))
    pixels = panel.image[:, :, :3].copy()
    measured = landmark_disagreement(pixels, [face], [PACKAGE_MODELS])
    assert set(measured) == {11} and 0.0 < measured[11] < 1.0
    assert landmark_disagreement(pixels, [face], [tmp_path]) == {}  # no learned model: no signal
    broken = tmp_path / "broken"
    broken.mkdir()
    for suffix in (".safetensors", ".json"):
        (broken / f"{STEM}{suffix}").write_bytes(b"not a model")
    assert landmark_disagreement(pixels, [face], [broken]) == {}  # a corrupt file: no signal, no crash
