"""The crop verifier (detect/verifiers/): training on context crops, `f2a train-finder` writing it beside the
project's finder, the analysis re-scoring candidates with it, and what happens with bad or unhelpful files.

Real networks at the real (small) size, real training steps on synthetic panels, real project files.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from f2a_studio.core.jobs import CancelToken
from f2a_studio.core.search_path import PACKAGE_MODELS
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer
from f2a_studio.detect.cropnet import model_paths
from f2a_studio.detect.finders.learned_io import CARD_NAME
from f2a_studio.detect.finders.learned_project import finetune_project
from f2a_studio.detect.finders.project_calibration import BASE_FEATURE
from f2a_studio.detect.verifiers import REFINED_FEATURE, UNVERIFIED_FEATURE, VERIFIER_FEATURE, choose_verifier
from f2a_studio.detect.verifiers.learned import P_WEIGHT, STEM, VIEWS, LearnedVerifier
from f2a_studio.detect.verifiers.net import VerifierNet, VerifierNetConfig
from f2a_studio.detect.verifiers.pretrain import INIT_STEM
from f2a_studio.detect.verifiers.project import background_boxes, ranked
from f2a_studio.detect.verifiers.train import VerifierData, VerifierTrainConfig, context_crops, train_verifier
from f2a_studio.synth.scene import make_panel
from tests.test_finder_learned import _options, _project

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores
SIZE, SPAN = VerifierNetConfig().size, VerifierNetConfig().span


def _panels_data(seed: int, n: int, near_misses: bool = False) -> tuple[VerifierData, list]:
    """Faces and face-sized background boxes of `n` synthetic panels as verifier data; with
    ``near_misses`` each face also gets a box off its centre and too large (not a face, but the box head
    learns where the face is from it) and every face box its own target."""
    rng = np.random.default_rng(seed)
    parts, pictures = [], []
    for i in range(n):
        panel = make_panel(rng, 256, 256, n_faces=2, style="anime", border=False)
        faces = [f.box for f in panel.faces]
        others = background_boxes(panel.image, faces, f"{seed}:{i}")
        missed = [_off_centre(f, rng) for f in faces] if near_misses else []
        labels = [1.0] * len(faces) + [0.0] * (len(missed) + len(others))
        targets = [*faces, *faces, *[None] * len(others)] if near_misses else None
        parts.append(context_crops(panel.image, [*faces, *missed, *others], labels, SIZE, SPAN, targets))
        pictures.append((panel.image, faces, others))
    return VerifierData.concat(parts, SIZE), pictures


def _off_centre(face, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """A box a finder might draw around ``face``: moved a quarter of its size and up to 1.5× as large."""
    x, y, w, h = face[:4]
    k = float(rng.uniform(1.1, 1.5))
    dx, dy = (float(v) * 0.25 * w for v in rng.choice([-1.0, 1.0], 2))
    return (x + w / 2 + dx - k * w / 2, y + h / 2 + dy - k * h / 2, k * w, k * h)


def _iou(a, b) -> float:
    from f2a_studio.core.models import Box

    return Box(*a[:4]).iou(Box(*b[:4]))


def test_the_verifier_learns_to_tell_faces_from_background_on_unseen_panels() -> None:
    data, _ = _panels_data(0, 24)
    assert data.faces > 20 and data.others > 20 and data.contexts.shape[1:] == (SIZE * 1.5, SIZE * 1.5, 3)
    torch.manual_seed(0)
    net = VerifierNet()
    train_verifier(net, data, VerifierTrainConfig(steps=150))
    verifier = LearnedVerifier(Path("."))
    verifier.net = net.eval()
    _, unseen = _panels_data(1, 8)
    p_faces = np.concatenate([verifier.p_face(img, faces) for img, faces, _ in unseen])
    p_others = np.concatenate([verifier.p_face(img, others) for img, _, others in unseen])
    # ranking: a random face scores above a random background box far more often than chance
    auc = float(np.mean(p_faces[:, None] > p_others[None, :]))
    assert auc > 0.85, (auc, p_faces.mean(), p_others.mean())


@pytest.mark.parametrize("span", [1.5, 2.0])
def test_a_training_crop_without_jitter_is_the_crop_the_analysis_takes(span: float) -> None:
    """Training re-crops a stored context crop; the analysis crops the full picture. Without jitter the two
    must show the same pixels, or the verifier learns on other crops than it is asked about."""
    from f2a_studio.detect.cropnet import box_crop, box_matrix
    from f2a_studio.detect.verifiers.train import crop_zoom, jittered_crops

    panel = make_panel(np.random.default_rng(3), 320, 320, n_faces=2, style="anime", border=False)
    boxes = [f.box for f in panel.faces]
    data = context_crops(panel.image, boxes, [1.0] * len(boxes), 64, span)
    still = VerifierTrainConfig(shift=0.0, zoom=0.0, photometric=False)
    got, targets = jittered_crops(data, np.arange(len(boxes)), 64, span, np.random.default_rng(0), still)
    assert np.isnan(targets).all()  # no face given: nothing for the box head to learn
    for crop, box in zip(got, boxes, strict=True):
        direct = box_crop(panel.image, box_matrix(box, 64, zoom=crop_zoom(span)), 64).astype(int)
        diff = min(np.abs(crop.astype(int) - direct).mean(), np.abs(crop[:, ::-1].astype(int) - direct).mean())
        assert diff < 8, diff  # resampled twice: a little blur, no shift or scale


def _training_crops(size: int, **options) -> tuple[np.ndarray, np.ndarray]:
    """200 jittered training crops (and box targets) of a two-face panel, from one fixed generator: the same
    crops whatever ``options`` (VerifierTrainConfig fields) change."""
    from f2a_studio.detect.verifiers.train import jittered_crops

    panel = make_panel(np.random.default_rng(5), 320, 320, n_faces=2, style="anime", border=False)
    boxes = [f.box for f in panel.faces]
    data = context_crops(panel.image, boxes, [1.0] * len(boxes), size, 1.5, boxes)
    idx = np.arange(200) % len(boxes)
    return jittered_crops(data, idx, size, 1.5, np.random.default_rng(2),
                          VerifierTrainConfig(photometric=False, **options))


def test_real_look_changes_that_share_of_crops_and_leaves_the_rest_and_the_targets() -> None:
    """VerifierTrainConfig.real_look: that share of the crops gets a page's look (grey, tone, blur, JPEG...);
    the others and every box target are what they would be without it; a share outside 0..1 is refused."""
    plain, t_plain = _training_crops(64)
    looked, t_looked = _training_crops(64, real_look=0.5)
    assert np.array_equal(t_plain, t_looked)
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(plain, looked, strict=True)])
    assert 0.35 < changed < 0.65, changed
    with pytest.raises(ValueError, match="real_look"):
        VerifierTrainConfig(real_look=1.5)


def test_low_res_shows_that_share_of_crops_as_a_small_face_would_look() -> None:
    """VerifierTrainConfig.low_res: that share of the crops is shrunk to a small face's size and enlarged back
    (less fine detail, same layout); the others and every box target are unchanged; a crop already at a
    small face's size is left as it is."""
    from f2a_studio.detect.verifiers.train import low_resolution

    plain, t_plain = _training_crops(96)
    small, t_small = _training_crops(96, low_res=0.5)
    assert np.array_equal(t_plain, t_small)
    changed = [k for k, (a, b) in enumerate(zip(plain, small, strict=True)) if not np.array_equal(a, b)]
    assert 0.35 < len(changed) / len(plain) < 0.65, len(changed)

    def detail(crop: np.ndarray) -> float:  # mean absolute difference between neighbouring pixels
        g = crop.astype(float).mean(axis=2)
        return float(np.abs(np.diff(g, axis=1)).mean())

    for k in changed:
        assert detail(small[k]) < detail(plain[k])
        assert np.abs(small[k].astype(float) - plain[k]).mean() < 40  # blurred, not moved
    crop = plain[0]
    assert np.array_equal(low_resolution(crop, box_px=30.0, small_px=40.0), crop)
    with pytest.raises(ValueError, match="low_res"):
        VerifierTrainConfig(low_res=-0.1)


@pytest.mark.parametrize("span", [1.5, 2.0])
def test_a_jittered_crops_box_target_points_at_the_face_it_shows(span: float) -> None:
    """A white square (the face) on black, a candidate box off its centre and too big: in every shifted,
    zoomed, mirrored crop, the box head's target must put the square's centre and size where its pixels
    are, or the head learns to move boxes the wrong way."""
    from f2a_studio.detect.verifiers.refine import applied, offsets
    from f2a_studio.detect.verifiers.train import jittered_crops

    image = np.zeros((400, 400, 3), np.uint8)
    face = (180.0, 150.0, 40.0, 40.0)
    image[150:190, 180:220] = 255
    candidate = (165.0, 140.0, 64.0, 64.0)
    size = 96
    data = context_crops(image, [candidate], [0.0], size, span, [face])
    jitter = VerifierTrainConfig(shift=0.1, zoom=0.15, photometric=False)
    crops, targets = jittered_crops(data, np.zeros(40, int), size, span, np.random.default_rng(1), jitter)
    assert np.isfinite(targets).all() and len({round(t, 3) for t in targets[:, 0]}) > 20
    s = size / span  # the candidate's square side in crop pixels
    for crop, t in zip(crops, targets, strict=True):
        ys, xs = np.nonzero(crop[:, :, 0] > 127)
        assert abs((xs.mean() + 0.5) - (size / 2 + t[0] * s)) < 1.5
        assert abs((ys.mean() + 0.5) - (size / 2 + t[1] * s)) < 1.5
        assert abs((xs.max() - xs.min() + 1) - np.exp(t[2]) * s) < 2.5
    # and in the picture's own frame, the offsets of the unjittered crop move the candidate onto the face
    assert np.allclose(applied(np.array([candidate]), offsets(candidate, face)[None], span)[0], face)


def test_background_boxes_touch_no_face_and_are_the_same_on_a_rerun() -> None:
    image = np.zeros((300, 200, 3), np.uint8)
    faces = [(20.0, 30.0, 50.0, 50.0), (100.0, 200.0, 60.0, 60.0)]
    boxes = background_boxes(image, faces, "cut-a")
    assert boxes and boxes == background_boxes(image, faces, "cut-a")
    for x, y, w, h in boxes:
        assert x >= 0 and y >= 0 and x + w <= 200 and y + h <= 300
        for fx, fy, fw, fh in faces:
            assert x + w <= fx or fx + fw <= x or y + h <= fy or fy + fh <= y
    assert boxes != background_boxes(image, faces, "cut-b")


def test_platt_fit_recovers_a_known_map_and_refuses_a_backward_or_thin_one() -> None:
    from f2a_studio.core.errors import F2AError
    from f2a_studio.detect.finders.calibration import logit
    from f2a_studio.detect.finders.score_fit import platt_fit

    rng = np.random.default_rng(0)
    scores = rng.uniform(0.01, 0.99, 4000)
    truth = 1 / (1 + np.exp(-(1.8 * np.array([logit(s) for s in scores]) - 0.7)))
    labels = rng.random(4000) < truth
    fit = platt_fit(scores, labels)
    assert fit.calibration.a == pytest.approx(1.8, abs=0.15) and fit.calibration.b == pytest.approx(-0.7, abs=0.15)
    assert fit.to_json()["kind"] == "platt" and fit.positives == int(labels.sum())
    with pytest.raises(F2AError, match="does not rank faces above"):
        platt_fit(scores, ~labels)
    with pytest.raises(F2AError, match="needs at"):
        platt_fit([0.9, 0.8, 0.1], [True, True, False])


def test_the_on_off_decision_needs_the_verifier_to_be_worse_on_most_resamples() -> None:
    from f2a_studio.detect.verifiers.project import worse_share

    face = [(0.0, 0.0, 10.0, 10.0)]
    right = ([(0.0, 0.0, 10.0, 10.0, 0.9), (50.0, 0.0, 10.0, 10.0, 0.2)], face)
    wrong = ([(0.0, 0.0, 10.0, 10.0, 0.2), (50.0, 0.0, 10.0, 10.0, 0.9)], face)
    assert worse_share([wrong] * 6, [right] * 6) == 1.0
    assert worse_share([right] * 6, [wrong] * 6) == 0.0
    mixed = worse_share([wrong, right, right, right, right, right], [right, wrong, wrong, wrong, wrong, wrong])
    assert mixed < 0.1  # one cut going the other way does not turn it off


def test_ranking_metric_counts_only_faces_found_before_the_false_alarms() -> None:
    faces = [(0.0, 0.0, 10.0, 10.0), (50.0, 50.0, 10.0, 10.0)]
    good = [(0.0, 0.0, 10.0, 10.0, 0.9), (50.0, 50.0, 10.0, 10.0, 0.8), (100.0, 0.0, 10.0, 10.0, 0.1)]
    bad = [(0.0, 0.0, 10.0, 10.0, 0.1), (50.0, 50.0, 10.0, 10.0, 0.2), (100.0, 0.0, 10.0, 10.0, 0.9)]
    assert ranked([(good, faces)])["average_precision"] == 1.0
    assert ranked([(good, faces)])["recall_at_p85"] == 1.0
    worse = ranked([(bad, faces)])
    assert worse["average_precision"] < 0.6 and worse["recall_at_p85"] == 0.0


def test_the_box_head_moves_off_centre_boxes_onto_unseen_faces() -> None:
    data, _ = _panels_data(0, 24, near_misses=True)
    torch.manual_seed(0)
    net = VerifierNet()
    train_verifier(net, data, VerifierTrainConfig(steps=200))
    verifier = LearnedVerifier(Path("."))
    verifier.net = net.eval()
    assert verifier.refines
    rng = np.random.default_rng(7)
    before, after = [], []
    for img, faces, _ in _panels_data(1, 8)[1]:
        given = [_off_centre(f, rng) for f in faces]
        got = verifier.verify(img, given)
        assert got.boxes.shape == (len(faces), 4) and np.all(got.boxes[:, 2:] > 0)
        before += [_iou(g, f) for g, f in zip(given, faces, strict=True)]
        after += [_iou(b, f) for b, f in zip(got.boxes, faces, strict=True)]
    print(f"IoU with the face: {np.mean(before):.3f} given, {np.mean(after):.3f} refined")
    assert np.mean(after) > np.mean(before) + 0.1
    assert np.mean(np.greater(after, before)) > 0.75  # most boxes, not a few large moves
    # one pass (cards from before session 12): P is the given box's; "rejudge": P from the moved box's crop
    img, faces, _ = _panels_data(1, 1)[1][0]
    given = [_off_centre(f, rng) for f in faces]
    one = verifier.verify(img, given)
    assert not verifier.rejudges and np.array_equal(one.p_face, one.p_given)
    assert np.allclose(one.p_given, verifier.p_face(img, given))
    verifier.card = {"rejudge": True}
    again = verifier.verify(img, given)
    assert verifier.rejudges and np.array_equal(again.boxes, one.boxes) and np.array_equal(again.p_given, one.p_given)
    assert np.allclose(again.p_face, verifier.p_face(img, again.boxes), atol=1e-6)  # these boxes all moved
    assert not np.allclose(again.p_face, one.p_face)
    verifier.card = {"rejudge": True, "keep_better": True}  # a move the verifier likes less is undone
    kept = verifier.verify(img, given)
    back = again.p_face < again.p_given
    assert np.array_equal(kept.boxes[back], np.asarray(given, np.float64)[back])
    assert np.array_equal(kept.boxes[~back], again.boxes[~back])
    assert np.array_equal(kept.p_face, np.maximum(again.p_face, again.p_given))
    verifier.card = {"refine": False, "rejudge": True}  # the card can turn it off: boxes then stay as given
    img, faces, _ = _panels_data(1, 1)[1][0]
    assert np.array_equal(verifier.verify(img, faces).boxes, np.asarray(faces, np.float64))


def test_a_mirroring_verifier_gives_a_mirrored_picture_the_same_answer() -> None:
    """Card "mirror": each crop is judged as it is and mirrored, the answers averaged (the x offset
    mirrored back), so a mirrored picture gets the same P and the mirrored box; one pass does not."""
    torch.manual_seed(3)
    verifier = LearnedVerifier(Path("."))
    verifier.net = VerifierNet().eval()  # random weights: nothing in them is mirror-symmetric
    panel = make_panel(np.random.default_rng(8), 256, 256, n_faces=2, style="anime", border=False)
    img, flipped = panel.image[:, :, :3].copy(), np.ascontiguousarray(panel.image[:, ::-1, :3])
    boxes = np.array([f.box for f in panel.faces], np.float64)
    mirrored = boxes.copy()
    mirrored[:, 0] = img.shape[1] - boxes[:, 0] - boxes[:, 2]

    def gap() -> tuple[float, float]:
        a, b = verifier.verify(img, boxes), verifier.verify(flipped, mirrored)
        back = b.boxes.copy()
        back[:, 0] = img.shape[1] - b.boxes[:, 0] - b.boxes[:, 2]
        return float(np.abs(a.p_face - b.p_face).max()), float(np.abs(a.boxes - back).max())

    one_p, one_box = gap()
    verifier.card = {"mirror": True}
    assert verifier.mirrors
    two_p, two_box = gap()
    assert two_p < 0.01 and two_box < 1.0, (two_p, two_box)
    assert one_box > 2 * two_box, (one_box, two_box, one_p, two_p)
    print(f"mirrored picture: P gap {one_p:.4f} / {two_p:.4f}, box gap {one_box:.2f} / {two_box:.2f} px")


def test_extra_views_average_p_over_the_crops_of_zoomed_and_shifted_boxes_and_keep_the_box() -> None:
    """Card "zooms" / "shifts": P is the mean of the plain crop's and of the crops zoomed by z (the plain
    crop of the box scaled by 1/z about its centre) and shifted by (dx, dy) box sides; the moved box is
    the plain crop's."""
    from f2a_studio.detect.verifiers.pretrain import load_init

    net = VerifierNet()
    assert load_init(net, [PACKAGE_MODELS])["init"] != "random"  # the shipped start: P varies from box to box
    _, pictures = _panels_data(2, 1)
    plain = LearnedVerifier(Path("."))
    plain.net = net.eval()
    viewed = LearnedVerifier(Path("."))
    viewed.net, viewed.card = plain.net, {"zooms": [0.8, 1.25], "shifts": [[0.1, 0.0], [0.0, -0.1]]}
    img, faces, others = pictures[0]
    rng = np.random.default_rng(0)
    near = [_off_centre(f, rng) for f in faces for _ in range(3)]  # half a face: P between the two ends
    boxes = np.array([*faces, *near, *others], np.float64)
    cx, cy, w, h = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2, boxes[:, 2], boxes[:, 3]
    same_crops = [np.column_stack([cx - w / z / 2, cy - h / z / 2, w / z, h / z]) for z in (0.8, 1.25)]
    same_crops += [np.column_stack([boxes[:, 0] + dx * w, boxes[:, 1] + dy * h, w, h])
                   for dx, dy in ((0.1, 0), (0, -0.1))]
    p_plain = plain.p_face(img, boxes)
    expected = np.mean([p_plain, *(plain.p_face(img, b) for b in same_crops)], axis=0)
    got = viewed.verify(img, boxes)
    assert np.allclose(got.p_face, expected, atol=1e-5)
    assert np.abs(got.p_face - p_plain).max() > 0.01  # the views did change P
    assert np.allclose(got.boxes, plain.verify(img, boxes).boxes)
    # "views_floor": a box whose plain P is below it keeps that P, the others get the views' mean
    viewed.card = viewed.card | {"views_floor": float(np.median(p_plain))}
    low = p_plain < viewed.views_floor
    assert 0 < low.sum() < len(boxes)
    floored = viewed.p_face(img, boxes)
    assert np.allclose(floored[low], p_plain[low]) and np.allclose(floored[~low], expected[~low], atol=1e-5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A tiny project fine-tuned by train-finder (finder, then verifier)."""
    root = tmp_path_factory.mktemp("verifier") / "p"
    _project(root, 24, rejected_every=4).close()  # 5 held-back faces: enough to fit the verifier's map
    torch.manual_seed(0)
    with ProjectStore.open(root) as store:
        card = finetune_project(store, _options(steps=300, verifier_steps=150))
    return root, card


def test_train_finder_writes_a_verifier_with_a_map_and_held_back_metrics(trained: tuple[Path, dict]) -> None:
    root, card = trained
    summary = card["verifier"]
    assert summary["trained"], summary
    weights, card_path = model_paths(root / "checkpoints", STEM)
    assert weights.is_file() and card_path.is_file()
    vcard = json.loads(card_path.read_text())
    assert vcard["data"]["faces"] > 0 and vcard["data"]["others"] >= 8 and vcard["data"]["rejected"] > 0
    finder_card = json.loads((root / "checkpoints" / CARD_NAME).read_text())
    assert vcard["finder_sha256"] == finder_card["weights_sha256"]  # fitted on this very finder's scores
    assert finder_card["verifier"]["trained"]  # the finder's card says what became of it
    m = vcard["metrics_iou_0.3"]
    assert m["held_back_with"]["faces"] == m["held_back_without"]["faces"] > 0
    assert vcard["calibration"]["kind"] == "platt" and vcard["calibration"]["a"] > 0
    verifier = choose_verifier([root / "checkpoints"], name="learned").verifier
    mapped = [verifier.rescore(p, 0.5) for p in np.linspace(0.0, 1.0, 11)]
    assert all(a < b for a, b in itertools.pairwise(mapped))  # no ties: the best candidates stay apart
    assert 0.0 <= m["worse_share"] <= 1.0
    assert vcard["on_by_default"] == (m["worse_share"] < 0.9)
    r = vcard["refine_metrics_iou_0.3"]  # moving the boxes is judged on the same held-back cuts
    assert r["held_back_boxes_moved"]["faces"] == m["held_back_without"]["faces"]
    assert vcard["refine"] == (r["worse_share"] < 0.9) and vcard["refine_why"]
    assert summary["refine"] == vcard["refine"]
    assert vcard["rejudge"] == vcard["refine"] and verifier.rejudges == vcard["refine"]
    assert all(vcard[k] == v for k, v in VIEWS.items()) and verifier.mirrors == VIEWS.get("mirror", False)
    assert vcard["p_weight"] == P_WEIGHT and verifier.p_weight == P_WEIGHT
    shipped_weights, shipped_card = model_paths(PACKAGE_MODELS, INIT_STEM)  # it started from the synthetic head start
    assert Path(vcard["train"]["init"]) == shipped_weights
    assert vcard["train"]["init_sha256"] == json.loads(shipped_card.read_text())["weights_sha256"]


def test_a_verifier_card_from_before_the_weighted_combination_keeps_its_sqrt(trained: tuple[Path, dict],
                                                                             tmp_path: Path) -> None:
    root, _ = trained
    folder = tmp_path / "old"
    shutil.copytree(root / "checkpoints", folder)
    card_path = model_paths(folder, STEM)[1]
    card = json.loads(card_path.read_text())
    del card["p_weight"]  # its map was fitted on sqrt(p · score)
    card_path.write_text(json.dumps(card))
    old = LearnedVerifier(folder)
    old.load()
    assert old.p_weight == 0.5 and old.combine(0.25, 0.64) == pytest.approx(0.4)


def test_the_analysis_rescores_candidates_with_the_verifier(trained: tuple[Path, dict]) -> None:
    root, _ = trained
    folders = [str(root / "checkpoints")]
    options = AnalyzeOptions(search_path=tuple(folders), threshold=0.0, finders=("learned",))
    plain = Analyzer(options)
    assert plain.verifier is None or plain.verifier.on_by_default
    verifier = choose_verifier([root / "checkpoints"], name="learned").verifier  # named: on or not
    assert verifier is not None and verifier.calibration is not None
    with ProjectStore.open(root, read_only=True) as store:
        image = store.images()[0]
        from f2a_studio.core.imageio import load_image

        pixels = load_image(store.cut_file(image)).pixels[:, :, :3]
    hits = plain.finders[0].find(pixels)
    assert hits, "the fine-tuned finder proposes something on its own training cut"
    before = plain.candidates(pixels, hits, "learned")
    plain.verifier = verifier
    after = plain.verified(pixels, before)
    verdict = verifier.verify(pixels, [c.hit.box.to_list() for c in before])
    for b, a, pi, box in zip(before, after, verdict.p_face, verdict.boxes, strict=True):
        named = dict(a.features)
        assert named[VERIFIER_FEATURE] == pytest.approx(pi, abs=1e-6)
        if verifier.refines:  # the candidate now carries the box the verifier moved it to
            assert a.hit.box.to_list() == pytest.approx(list(box), abs=0.01)
            assert named[REFINED_FEATURE] == pytest.approx(_iou(box, b.hit.box.to_list()), abs=1e-3)
        else:
            assert a.hit.box == b.hit.box and REFINED_FEATURE not in named
        assert named[UNVERIFIED_FEATURE] == pytest.approx(b.score)
        assert named[BASE_FEATURE] == pytest.approx(b.score)  # f2a calibrate still fits on the finder's scale
        assert a.score == pytest.approx(verifier.calibration(verifier.combine(pi, b.score)), abs=1.01e-3)
    faces = plain.analyze(pixels).faces
    assert faces and all(VERIFIER_FEATURE in dict(f.score_features) for f in faces)


def test_photos_are_not_verified(trained: tuple[Path, dict]) -> None:
    from skimage.data import astronaut

    from f2a_studio.core.search_path import model_search_path

    root, _ = trained
    analyzer = Analyzer(AnalyzeOptions(search_path=tuple(map(str, model_search_path(root)))))
    analyzer.verifier = choose_verifier([root / "checkpoints"], name="learned").verifier
    faces = analyzer.analyze(astronaut(), domain="human").faces
    assert faces and faces[0].finder == "photo"
    assert all(VERIFIER_FEATURE not in dict(f.score_features) for f in faces)


def test_a_corrupt_or_unhelpful_verifier_is_passed_over_with_a_message(trained: tuple[Path, dict],
                                                                        tmp_path: Path) -> None:
    root, _ = trained
    folder = tmp_path / "models"
    shutil.copytree(root / "checkpoints", folder, ignore=shutil.ignore_patterns("*.resume.pt"))
    weights, card_path = model_paths(folder, STEM)
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps(card | {"on_by_default": True}))
    assert choose_verifier([folder]).verifier is not None
    card_path.write_text(json.dumps(card | {"on_by_default": False}))
    chosen = choose_verifier([folder])
    assert chosen.verifier is None and not chosen.notes  # its card says it did not help: silently unused
    assert choose_verifier([folder], name="learned").verifier is not None
    card_path.write_text(json.dumps(card | {"on_by_default": True}))
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    chosen = choose_verifier([folder])
    assert chosen.verifier is None and len(chosen.notes) == 1
    assert str(weights) in chosen.notes[0] and "not a valid safetensors file" in chosen.notes[0]
    analyzer = Analyzer(AnalyzeOptions(search_path=(str(folder),), threshold=0.0, finders=("learned",)))
    assert analyzer.verifier is None
    notes = analyzer.analyze(np.full((128, 128, 3), 255, np.uint8)).notes
    assert any("crop verifier skipped" in n for n in notes)


def test_too_few_non_faces_trains_no_verifier_and_removes_an_old_one(trained: tuple[Path, dict],
                                                                     tmp_path: Path) -> None:
    from f2a_studio.detect.verifiers.project import train_project_verifier

    root, _ = trained
    out = tmp_path / "ckpt"
    shutil.copytree(root / "checkpoints", out, ignore=shutil.ignore_patterns("*.resume.pt"))
    with ProjectStore.open(root, read_only=True) as store:
        summary = train_project_verifier(store, [], [], finder=None, search_path=[], finder_sha256="", out=out)
    assert summary["trained"] is False
    assert "needs at least" in summary["why"] and "old verifier was removed" in summary["why"]
    assert not any(p.exists() for p in model_paths(out, STEM))


def test_stopped_in_the_verifier_a_rerun_trains_the_verifier_only_and_ends_the_same(tmp_path: Path) -> None:
    copies = []
    for name in ("a", "b"):
        _project(tmp_path / name, 10, rejected_every=3).close()
        copies.append(tmp_path / name)
    opts = _options(steps=40, verifier_steps=40)
    with ProjectStore.open(copies[0]) as store:
        torch.manual_seed(0)
        whole = finetune_project(store, opts)
        ref = model_paths(store.checkpoints_dir, STEM)[0].read_bytes()
    with ProjectStore.open(copies[1]) as store:
        calls = {"n": 0}

        def stop_in_the_verifier() -> bool:  # 40 finder steps, then 15 of the verifier's
            calls["n"] += 1
            return calls["n"] > 55

        torch.manual_seed(0)
        first = finetune_project(store, opts, should_stop=stop_in_the_verifier)
        assert first == {"interrupted": True, "stage": "verifier", "steps_done": 15, "steps": 40}
        finder_bytes = (store.checkpoints_dir / "finder-learned.safetensors").read_bytes()
        torch.manual_seed(0)
        second = finetune_project(store, opts)
        assert second["train"]["resumed_from"] == "finished before"  # the finder was not trained again
        assert (store.checkpoints_dir / "finder-learned.safetensors").read_bytes() == finder_bytes
        got = model_paths(store.checkpoints_dir, STEM)[0].read_bytes()
    assert whole["verifier"]["trained"] and second["verifier"]["trained"]
    from safetensors.torch import load

    a, b = load(ref), load(got)
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k


def test_the_face_panel_says_which_finder_scored_a_face_and_what_the_crop_check_said(qtbot) -> None:
    from dataclasses import replace

    from f2a_studio.core.models import Box, Face, FaceSource
    from f2a_studio.gui.panels.inspector import Inspector

    panel = Inspector()
    qtbot.addWidget(panel)
    detected = Face(1, Box(10, 10, 40, 40), score=0.6125, finder="animeface", id=7,
                    score_features=((UNVERIFIED_FEATURE, 0.7), (VERIFIER_FEATURE, 0.4321)))
    panel.show_face(detected)
    assert panel.labels["score"].text() == "0.613  (animeface, crop check 0.43)"
    panel.show_face(replace(detected, score_features=(*detected.score_features, (REFINED_FEATURE, 0.617))))
    assert panel.labels["score"].text() == "0.613  (animeface, crop check 0.43, box moved, IoU 0.62)"
    panel.show_face(replace(detected, score_features=(*detected.score_features, (REFINED_FEATURE, 0.97))))
    assert panel.labels["score"].text() == "0.613  (animeface, crop check 0.43)"  # a nudge is not news
    panel.show_face(replace(detected, score_features=()))
    assert panel.labels["score"].text() == "0.613  (animeface)"
    panel.show_face(replace(detected, source=FaceSource.HUMAN, finder="", score=1.0))
    assert panel.labels["score"].text() == "1.000"


def test_f2a_detect_on_a_project_with_a_verifier_stores_its_word_on_each_face(trained: tuple[Path, dict],
                                                                              tmp_path: Path) -> None:
    """The whole path: detection's worker processes find the project's verifier on its search path."""
    from f2a_studio.detect.finders.project_calibration import base_score
    from f2a_studio.detect.pipeline import DetectOptions, detect_images

    project = _project_with_verifier(trained, tmp_path)
    with ProjectStore.open(project) as store:
        ids = [im.id for im in store.images()[:2]]
        report = detect_images(store, ids, DetectOptions(workers=1, threshold=0.0))
        assert not report.failed
        faces = [f for i in ids for f in store.faces(i) if f.source.value != "human"]
    assert faces, "detection at threshold 0 keeps some candidates"
    for f in faces:
        named = dict(f.score_features)
        assert 0.0 <= named[VERIFIER_FEATURE] <= 1.0
        assert base_score(f) == pytest.approx(named[BASE_FEATURE])  # what f2a calibrate refits from


def test_the_training_summaries_say_whether_the_box_head_moves_boxes(capsys) -> None:
    from f2a_studio.cli_finder import _print_verifier
    from f2a_studio.gui.learn.retrain import _train_summary

    summary = {"trained": True, "on_by_default": True, "why": "helped", "files": ["v.safetensors"],
               "refine": True, "refine_why": "held-back average precision 0.40 kept, 0.45 moved"}
    assert _train_summary({"verifier": summary}) == "crop verifier on, moving boxes"
    assert _train_summary({"verifier": summary | {"refine": False}}) == "crop verifier on"
    assert _train_summary({"verifier": summary | {"on_by_default": False}}) == "crop verifier off"
    _print_verifier(summary)
    assert "box head moves boxes (held-back average precision 0.40 kept" in capsys.readouterr().err
    _print_verifier(summary | {"refine": False})
    assert "keeps the finders' boxes" in capsys.readouterr().err
    old = {k: v for k, v in summary.items() if not k.startswith("refine")}  # a card from before the box head
    _print_verifier(old)
    assert "box head" not in capsys.readouterr().err


def test_hard_example_mining_learns_from_the_worst_ranked_of_each_kind() -> None:
    from f2a_studio.detect.verifiers.train import mined_loss

    logits = torch.tensor([3.0, -2.0, 0.5, -3.0, 2.5, 0.0], requires_grad=True)  # 3 faces, then 3 others
    labels = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    each = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none").detach()
    loss = mined_loss(logits, labels, 3, 1, 2)
    assert loss.item() == pytest.approx(float((each[1] + each[4] + each[5]) / 3))  # the face at -2, others at 2.5, 0
    loss.backward()
    assert [g != 0 for g in logits.grad.tolist()] == [False, True, False, False, True, True]
    assert mined_loss(logits, labels, 3, 3, 3).item() == pytest.approx(float(each.mean()))  # no mining: all
    with pytest.raises(ValueError, match="mine_faces"):
        VerifierTrainConfig(mine_others=0.5)
    assert VerifierTrainConfig(faces_per_batch=16, others_per_batch=16, mine_faces=2, mine_others=3).drawn() == (32, 48)


def test_dropout_is_a_training_setting_that_leaves_the_weights_loadable_and_the_analysis_steady() -> None:
    data, _ = _panels_data(2, 4)
    torch.manual_seed(0)
    net = VerifierNet()
    keys = set(net.state_dict())
    x = torch.rand(6, 3, SIZE, SIZE)
    net.train()
    net.dropout = 0.5
    assert not torch.equal(net(x), net(x)), "dropout did not drop anything while training"
    net.dropout = 0.0
    assert torch.equal(net(x), net(x))
    train_verifier(net, data, VerifierTrainConfig(steps=3, dropout=0.5))
    assert net.dropout == 0.0 and not net.training and set(net.state_dict()) == keys
    assert torch.equal(net(x), net(x))  # judged without dropout
    with pytest.raises(ValueError, match="dropout"):
        VerifierTrainConfig(dropout=1.0)


def _project_with_verifier(trained: tuple[Path, dict], tmp_path: Path) -> Path:
    """A copy of the trained project whose verifier's card says it is on (whatever its held-back cuts said)."""
    root, _ = trained
    project = tmp_path / "p"
    shutil.copytree(root, project, ignore=shutil.ignore_patterns("*.resume.pt"))
    card_path = model_paths(project / "checkpoints", STEM)[1]
    card_path.write_text(json.dumps(json.loads(card_path.read_text()) | {"on_by_default": True}))
    return project


def _detected(store: ProjectStore, ids: list[int]) -> list:
    """Detection at threshold 0 on these cuts; its unreviewed faces, best-scored first."""
    from f2a_studio.core.models import FaceSource, FaceStatus
    from f2a_studio.detect.pipeline import DetectOptions, detect_images

    assert not detect_images(store, ids, DetectOptions(workers=1, threshold=0.0)).failed
    return sorted((f for i in ids for f in store.faces(i)
                   if f.source is not FaceSource.HUMAN and f.status is FaceStatus.UNREVIEWED), key=lambda f: -f.score)


def _decide(store: ProjectStore, faces, accepted: int) -> None:
    from dataclasses import replace

    from f2a_studio.core.models import FaceStatus

    for i, f in enumerate(faces):
        store.update_face(replace(f, status=FaceStatus.ACCEPTED if i < accepted else FaceStatus.REJECTED),
                          actor="human")


def test_calibrate_refits_the_verifiers_map_from_review_decisions_and_detection_reads_it(
        trained: tuple[Path, dict], tmp_path: Path) -> None:
    """The card keeps the held-back points its map was fitted on; `f2a calibrate` pools them with the verified
    detections a person decided on (judged again by today's verifier) and writes a map tied to the weights;
    accepting low-scored detections too lifts the map's low end; other weights fall back to the card's map, a
    broken file is reported."""
    from safetensors.torch import load_file, save_file
    from typer.testing import CliRunner

    from f2a_studio.cli import app
    from f2a_studio.core.models import FaceStatus
    from f2a_studio.detect.finders.score_fit import platt_fit
    from f2a_studio.detect.verifiers.recalibrate import MAP_FILE, cut_pixels, held_back_points

    project = _project_with_verifier(trained, tmp_path)
    ckpt = project / "checkpoints"
    weights, card_path = model_paths(ckpt, STEM)
    card = json.loads(card_path.read_text())
    held = held_back_points(card)
    assert len(held.scores) == card["metrics_iou_0.3"]["held_back_with"]["candidates"] and held.positives > 0
    again = platt_fit(held.scores, held.faces).calibration  # the very points the card's map was fitted on
    assert (again.a, again.b) == pytest.approx((card["calibration"]["a"], card["calibration"]["b"]), abs=1e-4)
    runner = CliRunner()
    with ProjectStore.open(project) as store:
        ids = [im.id for im in store.images()]
        detected = _detected(store, ids[:6])[:20]
        assert len(detected) == 20 and all(VERIFIER_FEATURE in dict(f.score_features) for f in detected)
        _decide(store, detected, accepted=8)
    runner.invoke(app, ["calibrate", str(project), "--no-verifier"])
    assert not (ckpt / MAP_FILE).exists()
    result = runner.invoke(app, ["calibrate", str(project), "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout.splitlines()[0])["verifier"]
    assert Path(written["file"]) == ckpt / MAP_FILE and written["weights_sha256"] == card["weights_sha256"]
    assert written["fitted_from"] == {"held_back": {"faces": held.positives, "others": held.negatives},
                                      "decisions": {"accepted": 8, "rejected": 12}}
    verifier = choose_verifier([ckpt]).verifier
    assert verifier.calibration_from == "review decisions"
    assert (verifier.calibration.a, verifier.calibration.b) == pytest.approx(
        (written["calibration"]["a"], written["calibration"]["b"]))
    top_eight = verifier.calibration
    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.verifiers.recalibrate import finder_scorer, rescore_unreviewed

    with ProjectStore.open(project) as store:  # the other detections on those cuts move to the new map
        before = {f.id: f for i in ids[:6] for f in store.faces(i)}
        changed = rescore_unreviewed(store, model_search_path(project), ids[:6])
        after = {f.id: f for i in ids[:6] for f in store.faces(i)}
        assert changed and set(changed) <= {i for i, f in before.items() if f.status is FaceStatus.UNREVIEWED}
        score_now = finder_scorer(model_search_path(project))
        for face_id in changed:
            f = after[face_id]
            p = verifier.p_face(cut_pixels(store, f.image_id), [f.box.to_list()])[0]
            assert f.score == pytest.approx(verifier.rescore(p, score_now(f)), abs=1e-4) != before[face_id].score
            assert f.box == before[face_id].box and f.revision == before[face_id].revision + 1
        assert all(after[i] == before[i] for i in after if i not in changed)  # decided and human faces too
        assert rescore_unreviewed(store, model_search_path(project), ids[:6]) == []  # already on this scale
    with ProjectStore.open(project) as store:  # a person redraws an accepted box: judged where it was detected
        from dataclasses import replace

        from f2a_studio.core.models import Box

        moved = store.face(detected[0].id)
        store.update_face(replace(moved, box=Box(1, 1, 20, 20)), actor="human")
        assert "box" in store.face(moved.id).human_fields
    assert runner.invoke(app, ["calibrate", str(project)]).exit_code == 0
    redrawn = choose_verifier([ckpt]).verifier.calibration
    assert (redrawn.a, redrawn.b) == pytest.approx((top_eight.a, top_eight.b), abs=1e-6)
    with ProjectStore.open(project) as store:  # the same detections, 16 of the 20 accepted this time
        _decide(store, [store.face(f.id) for f in detected], accepted=16)
    assert runner.invoke(app, ["calibrate", str(project)]).exit_code == 0
    more = choose_verifier([ckpt]).verifier.calibration
    # accepted low-scored detections: a flatter map, and one that lifts the low scores
    assert more.a < top_eight.a and more(0.1) > top_eight(0.1) + 0.1
    state = load_file(str(weights))  # retrained: other weights → the refitted map is not theirs
    first = next(iter(state))
    state[first] = state[first] * 1.01
    save_file(state, str(weights))
    retrained = choose_verifier([ckpt]).verifier
    assert retrained.calibration_from == "held-back cuts" and retrained.calibration.a == card["calibration"]["a"]
    (ckpt / MAP_FILE).write_text("{broken")
    chosen = choose_verifier([ckpt])
    assert chosen.verifier is None and str(ckpt / MAP_FILE) in chosen.notes[0]


def test_calibrate_without_enough_verified_decisions_says_how_many_more(trained: tuple[Path, dict],
                                                                        tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from f2a_studio.cli import app
    from f2a_studio.detect.verifiers.recalibrate import MAP_FILE

    project = _project_with_verifier(trained, tmp_path)
    with ProjectStore.open(project) as store:
        detected = _detected(store, [store.images()[0].id])[:3]
        assert len(detected) == 3
        _decide(store, detected, accepted=2)
    result = CliRunner().invoke(app, ["calibrate", str(project)])
    assert result.exit_code == 2, result.output
    assert "crop verifier" in result.output and "2 accepted and 1 rejected verified detection(s)" in result.output
    assert "review 6 and 3 more" in " ".join(result.output.split())
    assert not (project / "checkpoints" / MAP_FILE).exists()


def test_with_a_verifier_each_kept_box_is_placed_by_the_candidates_vote(trained: tuple[Path, dict]) -> None:
    """analyze.voted: after the NMS, each kept face's box is the score-weighted mean of the verified
    candidates overlapping it (nms.voted_boxes); a box that moved says by how much, scores stay; the
    analysis' faces carry that word."""
    from f2a_studio.core.imageio import load_image
    from f2a_studio.detect.analyze import VOTED_FEATURE, voted
    from f2a_studio.detect.nms import SAME_BOX, nms, voted_boxes

    root, _ = trained
    analyzer = Analyzer(AnalyzeOptions(search_path=(str(root / "checkpoints"),), threshold=0.0,
                                       finders=("learned",)))
    analyzer.verifier = choose_verifier([root / "checkpoints"], name="learned").verifier
    moved = 0
    with ProjectStore.open(root, read_only=True) as store:
        for image in store.images()[:4]:
            pixels = np.ascontiguousarray(load_image(store.cut_file(image)).pixels[:, :, :3])
            scored = analyzer.verified(pixels, analyzer.scored_candidates(pixels, analyzer.finders_for("anime"), []))
            kept = nms(scored, lambda c: c.hit.box, lambda c: c.score)
            expected = voted_boxes(kept, scored, lambda c: c.hit.box, lambda c: c.score)
            got = voted(kept, scored)
            for k, b, g in zip(kept, expected, got, strict=True):
                assert g.score == k.score
                if b.iou(k.hit.box) >= SAME_BOX:
                    assert g == k
                    continue
                moved += 1
                assert g.hit.box.to_list() == pytest.approx(b.to_list(), abs=0.01)
                assert dict(g.features)[VOTED_FEATURE] == pytest.approx(g.hit.box.iou(k.hit.box), abs=1e-3)
            faces = analyzer.analyze(pixels).faces
            assert [dict(f.score_features).get(VOTED_FEATURE) for f in faces] == \
                [dict(g.features).get(VOTED_FEATURE) for g in got]
    assert moved, "some kept box must have had other candidates to vote on it"


def test_a_recalibration_from_the_studio_rescores_the_detections_left_on_touched_cuts(
        trained: tuple[Path, dict], tmp_path: Path) -> None:
    """Learn ▸ Recalibrate's job (gui/learn/retrain.py, no trainer): `f2a calibrate` as a subprocess refits
    the verifier's map, and the unreviewed detections on cuts a person touched (re-detection leaves those
    cuts alone) are re-scored on it; nothing a person decided changes."""
    from f2a_studio.detect.verifiers.recalibrate import MAP_FILE
    from f2a_studio.gui.learn.retrain import RetrainOptions, retrain_job

    project = _project_with_verifier(trained, tmp_path)
    with ProjectStore.open(project) as store:
        detected = _detected(store, [im.id for im in store.images()][:6])
        _decide(store, detected[:20], accepted=8)
        decided = {f.id: store.face(f.id) for f in detected[:20]}
        left = {f.id: f.score for f in detected[20:]}
        assert left
        report = retrain_job(store, RetrainOptions(models=(), threads=1))(lambda *a: None, CancelToken())
        assert report.state("calibrate") == "done" and (project / "checkpoints" / MAP_FILE).is_file()
        assert "crop verifier: map refitted on 8 accepted and 12 rejected" in report.text()
        assert not report.redetected  # every cut of this project has a person's faces
        (rescored,) = [s for s in report.steps if s.name == "re-score"]
        now = {i: store.face(i) for i in left}
        moved = [i for i in left if now[i].score != left[i]]
        assert moved and rescored.message.startswith(f"{len(moved)} unreviewed face(s)")
        assert all(store.face(i) == f for i, f in decided.items())


def test_a_titles_own_verifier_is_recalibrated_from_that_titles_cuts_and_rescores_them(
        trained: tuple[Path, dict], tmp_path: Path) -> None:
    """`train-finder --title T` puts a verifier in checkpoints/titles/T/: T's decisions refit its map there
    (not the project's verifier's), and T's unreviewed detections are re-scored with it."""
    from typer.testing import CliRunner

    from f2a_studio.cli import app
    from f2a_studio.core.search_path import model_search_path, title_models_dir
    from f2a_studio.detect.verifiers.recalibrate import MAP_FILE, rescore_unreviewed

    project = _project_with_verifier(trained, tmp_path)
    with ProjectStore.open(project) as store:
        ids = [im.id for im in store.images()][:6]
        (title,) = {store.image(i).title_id for i in ids}
        detected = _detected(store, ids)
        _decide(store, detected[:20], accepted=8)
    own = title_models_dir(project, title)
    own.mkdir(parents=True)
    for path in model_paths(project / "checkpoints", STEM):
        shutil.copy(path, own / path.name)  # the same weights, now the title's own
    result = CliRunner().invoke(app, ["calibrate", str(project), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[0])
    (fitted,) = report["title_verifiers"]
    assert fitted["title"] == title and Path(fitted["file"]) == own / MAP_FILE
    assert fitted["fitted_from"]["decisions"] == {"accepted": 8, "rejected": 12}
    assert report["verifier"] is None and not (project / "checkpoints" / MAP_FILE).exists()
    assert any(s.get("title") is None and "0 accepted and 0 rejected" in s["why"] for s in report["skipped"])
    with ProjectStore.open(project) as store:
        assert rescore_unreviewed(store, model_search_path(project), ids)  # with the title's refitted map
