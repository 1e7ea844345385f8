"""The heatmap landmark network (detect/landmarks/heatmap_net.py): its soft-argmax reads each peak where it
is, it loads by its card's architecture name beside the direct regressor, its point moves with a pattern moved
inside the crop, and the flip-averaged prediction is exactly mirror-symmetric. (Training steps lowering its
error: tests/test_learn_landmarks.py, for both architectures.)

Real networks of the real architecture at a tiny width, real training steps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from f2a_studio.detect.cropnet import ModelFileError, model_paths, save_model
from f2a_studio.detect.landmarks import choose_backend
from f2a_studio.detect.landmarks.heatmap_net import HeatmapLandmarkNet, HeatmapNetConfig, soft_argmax
from f2a_studio.detect.landmarks.learned import STEM, load_net, predict_points
from f2a_studio.detect.landmarks.nets import net_from_json

TINY = HeatmapNetConfig(size=32, widths=(4, 8, 8))

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def test_soft_argmax_reads_each_maps_peak_as_its_cell_centre() -> None:
    logits = torch.full((2, 3, 8, 10), -50.0)
    cells = [(0, 0), (7, 9), (3, 6)]  # (row, column)
    for k, (r, c) in enumerate(cells):
        logits[:, k, r, c] = 50.0
    xy = soft_argmax(logits)
    want = torch.tensor([[(c + 0.5) / 10, (r + 0.5) / 8] for r, c in cells])
    assert torch.allclose(xy[0], want, atol=1e-4) and torch.allclose(xy[1], want, atol=1e-4)
    flat = soft_argmax(torch.zeros(1, 1, 8, 10))  # no evidence: the crop's centre
    assert torch.allclose(flat, torch.tensor([[[0.5, 0.5]]]), atol=1e-6)


def test_a_heatmap_model_loads_by_its_cards_architecture_and_predicts_image_points(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = HeatmapLandmarkNet(TINY).eval()
    save_model(tmp_path / "m", STEM, net.state_dict(), {"net": TINY.to_json()})
    loaded, card = load_net(tmp_path / "m")
    assert isinstance(loaded, HeatmapLandmarkNet) and card["net"]["architecture"] == "f2a-landmarknet-heatmap-v1"
    assert choose_backend(tmp_path / "m").name == "learned"
    pixels = np.random.default_rng(0).integers(0, 255, (120, 100, 3), dtype=np.uint8)
    box = (20.0, 30.0, 40.0, 40.0)
    a, vis = predict_points(net, pixels, box, 0.5)
    b, _ = predict_points(loaded, pixels, box, 0.5)
    assert np.allclose(a, b) and a.shape == (68, 2) and vis.shape == (68,)
    # points lie in the crop: 1.5 box sides around the box centre
    assert (np.abs(a - (40.0, 50.0)) <= 30.0 + 1e-6).all()


def test_a_card_naming_an_unknown_architecture_is_refused_by_name(tmp_path: Path) -> None:
    save_model(tmp_path / "m", STEM, HeatmapLandmarkNet(TINY).state_dict(),
               {"net": TINY.to_json() | {"architecture": "f2a-landmarknet-v9"}})
    with pytest.raises(ModelFileError, match=re.escape("landmarks-learned.json: not a f2a-landmarknet-v1 or "
                                                       "f2a-landmarknet-heatmap-v1 model card")):
        load_net(tmp_path / "m")
    card = json.loads(model_paths(tmp_path / "m", STEM)[1].read_text())
    with pytest.raises(KeyError):
        net_from_json(card["net"])


def test_the_heatmaps_follow_a_pattern_moved_inside_the_crop() -> None:
    """Translation equivariance: train on a dot at random places, then the predicted point moves with it."""
    torch.manual_seed(0)
    net = HeatmapLandmarkNet(TINY)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)

    def dots(n: int):
        xy = rng.uniform(0.15, 0.85, (n, 2))
        x = torch.zeros(n, 3, 32, 32)
        for i, (u, v) in enumerate(xy):
            c, r = int(u * 32), int(v * 32)
            x[i, :, max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = 1.0
        return x, torch.from_numpy(xy).float()

    for _ in range(150):
        x, xy = dots(16)
        pts, _ = net(x, torch.full((16,), 0.5))
        loss = (pts - xy[:, None, :]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    x, xy = dots(32)
    with torch.inference_mode():
        pts, _ = net(x, torch.full((32,), 0.5))
    err = (pts[:, 0] - xy).abs().mean().item()
    spread = (xy - xy.mean(0)).abs().mean().item()
    assert err < 0.3 * spread


def test_the_flip_averaged_prediction_of_a_mirrored_picture_is_the_mirrored_prediction() -> None:
    """predict_points averages the crop's and its mirror's points: so mirroring the picture (and the box)
    mirrors the points exactly, with left and right points swapped (core.ibug68.MIRROR), whatever the net."""
    from f2a_studio.core.ibug68 import MIRROR

    torch.manual_seed(1)
    net = HeatmapLandmarkNet(TINY).eval()
    pixels = np.random.default_rng(1).integers(0, 255, (90, 110, 3), dtype=np.uint8)
    box = (17.0, 21.0, 44.0, 40.0)
    pts, vis = predict_points(net, pixels, box, 0.3)
    mirror_box = (110 - box[0] - box[2], box[1], box[2], box[3])
    m_pts, m_vis = predict_points(net, np.ascontiguousarray(pixels[:, ::-1]), mirror_box, 0.3)
    back = m_pts[list(MIRROR)]
    back[:, 0] = 110 - back[:, 0]
    assert np.allclose(back, pts, atol=1e-3) and np.allclose(m_vis[list(MIRROR)], vis, atol=1e-3)
    single, _ = predict_points(net, pixels, box, 0.3, flip=False)
    assert not np.allclose(single, pts, atol=1e-2)  # the mirror's half is not the crop's own
