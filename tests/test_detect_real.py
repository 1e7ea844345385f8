"""The real animeface detector on small synthetic scenes, through the whole per-image analysis."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from f2a_studio.core.models import Box, Face, hex_to_rgb
from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer
from f2a_studio.detect.animeface_backend import backend_problem, detect_raw
from f2a_studio.detect.finder import single_pass
from f2a_studio.synth.face import draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from f2a_studio.synth.scene import make_character_image, make_panel
from f2a_studio.synth.truth import FaceTruth


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AnalyzeOptions(landmarks="template"))


def delta_e76(a: str, b: str) -> float:
    import cv2

    rgb = np.array([[hex_to_rgb(a), hex_to_rgb(b)]], np.uint8).astype(np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[0]
    return float(np.linalg.norm(lab[0] - lab[1]))


def nme(face: Face, truth: FaceTruth) -> float:
    pts = np.array([(x, y) for x, y, _ in face.landmarks])
    true = truth.points()
    iod = np.linalg.norm(true[36:42].mean(0) - true[42:48].mean(0))
    return float(np.mean(np.linalg.norm(pts - true, axis=1)) / iod)


def test_installed_pillow_lets_animeface_find_faces() -> None:
    """Guard: with Pillow >= 12 animeface silently finds nothing. This must fail loudly, not quietly
    produce empty projects."""
    import PIL

    assert backend_problem() is None, backend_problem()
    panel = make_character_image(np.random.default_rng(0), 240)
    hits = detect_raw(panel.image)
    assert hits, (
        f"animeface found no face on a plain, large, frontal synthetic face with Pillow {PIL.__version__}: "
        "the Pillow pin (pillow==11.3.0) is broken"
    )
    assert max(h.box.iou(Box(*panel.faces[0].box)) for h in hits) > 0.5


def test_every_face_of_a_multi_character_scene(analyzer: Analyzer) -> None:
    rng = np.random.default_rng(17)
    panel = make_panel(rng, 690, 520, n_faces=3, border=False)
    assert len(panel.faces) == 3
    faces = analyzer.analyze(panel.image).faces
    for truth in panel.faces:
        box = Box(*truth.box)
        best = max(faces, key=lambda f: f.box.iou(box))
        assert best.box.iou(box) > 0.5, (truth.box, [f.box for f in faces])
        assert best.score >= 0.5
        assert len(best.landmarks) == 68 and nme(best, truth) < 0.3
        assert best.pose is not None
        assert delta_e76(best.colors.skin, truth.colors["skin"]) < 10
        assert delta_e76(best.colors.hair, truth.colors["hair"]) < 10
    assert len(faces) == 3  # and nothing else


def test_small_face_in_a_tall_strip_needs_the_tiled_scales(analyzer: Analyzer) -> None:
    """A 24-px face is below what animeface finds in one pass; the up-scaled tiles find it, and the
    normal-size face far down the same tall strip is found too."""
    rng = np.random.default_rng(3)
    image = np.full((3000, 400, 3), 245, np.uint8)
    small = draw_character(image, sample_character(rng, "female"), Pose(120, 300, 22.0))
    large = draw_character(image, sample_character(rng, "male"), Pose(220, 2500, 110.0))
    assert not any(h.box.iou(Box(*small.box)) > 0.3 for h in single_pass(image))
    found = analyzer.analyze(image).faces
    for truth in (small, large):
        assert any(f.box.iou(Box(*truth.box)) > 0.4 for f in found), truth.box


def test_fitted_landmarks_and_colours_beat_the_raw_ones(analyzer: Analyzer) -> None:
    from f2a_studio.detect.landmarks.template_fit import place_by_box

    rng = np.random.default_rng(8)
    raw_nme, fit_nme, raw_de, new_de = [], [], [], []
    for _ in range(4):
        panel = make_character_image(rng, int(rng.integers(180, 300)))
        truth = panel.faces[0]
        result = analyzer.analyze(panel.image)
        [face] = [f for f in result.faces if f.box.iou(Box(*truth.box)) > 0.3]
        raw = result.detector_colors[result.faces.index(face)]
        fit_nme.append(nme(face, truth))
        pts = place_by_box(analyzer.model, face.box)
        raw_nme.append(nme(dataclasses.replace(face, landmarks=tuple((x, y, 2) for x, y in pts)), truth))
        for key in ("hair", "left_eye", "right_eye"):
            raw_de.append(delta_e76(getattr(raw, key), truth.colors[key]))
            new_de.append(delta_e76(getattr(face.colors, key), truth.colors[key]))
    assert np.mean(fit_nme) < np.mean(raw_nme)
    # the median colour: on two of these faces a fitted iris is ~30 ΔE off (a grey iris read as its lighter
    # fill, a strand of hair over an eye), and animeface's own colours change with the calls made before it
    # (it keeps state: the mean flipped with the order of the tests); on the others the fitted colour is exact
    assert np.median(new_de) < np.median(raw_de)


def test_visibility_marks_points_outside_the_image(analyzer: Analyzer) -> None:
    rng = np.random.default_rng(1)
    image = np.full((260, 300, 3), 240, np.uint8)
    truth = draw_character(image, sample_character(rng, "male"), Pose(150, 40, 120.0))  # brows off the top
    [face] = [f for f in analyzer.analyze(image).faces if f.box.iou(Box(*truth.box).clipped(300, 260)) > 0.3]
    v = np.array([p[2] for p in face.landmarks])
    ys = np.array([p[1] for p in face.landmarks])
    assert set(v) <= {0, 1, 2}
    assert np.all(v[ys < 0] == 0) and np.all(v[ys >= 0] > 0)


def test_calibration_marks_down_a_hit_whose_parts_make_no_face(analyzer: Analyzer) -> None:
    panel = make_character_image(np.random.default_rng(5), 240)
    [hit] = detect_raw(panel.image)
    p = hit.parts
    # the same box with its "eyes" at the chin and its "mouth" at the top: what a wheel or badge gives
    broken = dataclasses.replace(hit, parts=dataclasses.replace(
        p, left_eye=p.mouth, right_eye=p.mouth.translated(p.mouth.w * 1.5, 0), mouth=p.left_eye,
        chin=p.left_eye.center))
    good, bad = analyzer.candidates(panel.image, [hit]), analyzer.candidates(panel.image, [broken])
    assert good[0].score > 0.7
    assert bad[0].score < good[0].score - 0.3


@pytest.mark.parametrize("sex", ["female", "male"])
def test_refit_with_the_confirmed_sex(analyzer: Analyzer, sex: str) -> None:
    """The annotator confirms the sex: the landmarks are fitted again with it as the prior; the right sex
    fits the drawn face better than the wrong one, and colours a person may have picked are kept."""
    from f2a_studio.core.models import Colors, Sex
    from f2a_studio.detect.refit import refit_face

    rng = np.random.default_rng(21)
    errors = {"right": [], "wrong": []}
    for _ in range(3):
        panel = make_character_image(rng, 220, sex=sex)
        truth = panel.faces[0]
        [face] = [f for f in analyzer.analyze(panel.image).faces if f.box.iou(Box(*truth.box)) > 0.3]
        face = dataclasses.replace(face, colors=Colors(skin="#123456"))
        other = "male" if sex == "female" else "female"
        # the template fit (an empty search path): its sex prior is what this measures; the learned landmark
        # model sees the face itself and leans on the prior far less
        right = refit_face(panel.image, face, Sex(sex), search_path=[])
        wrong = refit_face(panel.image, face, Sex(other), search_path=[])
        assert right.colors.skin == "#123456" and len(right.landmarks) == 68 and right.pose is not None
        errors["right"].append(nme(right, truth))
        errors["wrong"].append(nme(wrong, truth))
    assert np.mean(errors["right"]) < np.mean(errors["wrong"])


def test_out_of_time_the_small_face_pass_is_skipped_and_said_so() -> None:
    """Past its soft budget the finder skips the (4x costlier) up-scaled tiles but still does the normal
    passes: a huge textured strip yields its normal faces instead of timing out with none."""
    from f2a_studio.detect.finder import find_raw

    rng = np.random.default_rng(3)
    image = np.full((600, 400, 3), 245, np.uint8)
    small = draw_character(image, sample_character(rng, "female"), Pose(120, 150, 22.0))
    large = draw_character(image, sample_character(rng, "male"), Pose(260, 380, 90.0))
    full, hurried = find_raw(image), find_raw(image, budget_s=0.0)
    assert full.skipped_tiles == 0 and hurried.skipped_tiles > 0
    assert any(h.box.iou(Box(*small.box)) > 0.4 for h in full.hits)
    assert not any(h.box.iou(Box(*small.box)) > 0.4 for h in hurried.hits)
    assert any(h.box.iou(Box(*large.box)) > 0.4 for h in hurried.hits)
    options = AnalyzeOptions(landmarks="template", budget_s=0.0)
    assert "small-face pass skipped" in Analyzer(options).analyze(image).notes[0]


def test_skin_on_a_background_of_nearly_the_same_colour(analyzer: Analyzer) -> None:
    """A pale face and pale hair against a peach wall below a cream panel: the skin pixels must not be thrown
    out as background (that left only shading, ΔE ≈ 64 here and up to 60 in the benchmark)."""
    rng = np.random.default_rng(3)
    character = dataclasses.replace(sample_character(rng, "male"), skin=(247, 219, 199), hair_color=(245, 233, 204))
    image = np.empty((600, 600, 3), np.uint8)
    image[:170] = (253, 240, 222)
    image[170:225] = (235, 238, 245)
    t = np.linspace(0, 1, 375)[:, None]
    image[225:] = (np.array([240, 200, 165]) * (1 - t) + np.array([250, 226, 200]) * t)[:, None, :].astype(np.uint8)
    truth = draw_character(image, character, Pose(240, 340, 150.0))
    found = [f for f in analyzer.analyze(image).faces if f.box.iou(Box(*truth.box)) > 0.3]
    assert found, "the face was not found"
    assert delta_e76(found[0].colors.skin, truth.colors["skin"]) < 5
