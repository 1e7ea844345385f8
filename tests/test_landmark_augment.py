"""detect.landmarks.augment: the pretraining augmentation moves the 68 truth points with the pixels (drawn
synthetic faces, real warps), and the augmented pretraining writes a model the learned backend loads."""

from __future__ import annotations

import numpy as np
import pytest

from f2a_studio.detect.landmarks.augment import (
    AugmentConfig,
    augment_sample,
    chibi_squash,
    crop_matrix,
    long_face,
    photometric_real,
    warp_sample,
)
from f2a_studio.detect.landmarks.augmented_pretrain import varied_samples
from f2a_studio.synth.variation import Variation

SIZE = 96


@pytest.fixture(scope="module")
def face():
    return varied_samples(3, 1, ["anime"], Variation(), size=160)[0]


def _at(img: np.ndarray, p, rows: int = 1) -> np.ndarray:
    """Mean colour of the 3×(2·rows + 1) pixels around point p (x, y; corner convention: pixel i spans
    [i, i + 1))."""
    x, y = int(np.floor(p[0])), int(np.floor(p[1]))
    return img[y - rows:y + rows + 1, x - 1:x + 2].reshape(-1, img.shape[2]).astype(float).mean(0)


def _darkest_row(img: np.ndarray, p, reach: int = 4) -> float:
    """Centre y of the darkest pixel in p's column within ``reach`` rows of p: where a drawn line crosses."""
    x, y = int(np.floor(p[0])), int(np.floor(p[1]))
    column = img[y - reach:y + reach + 1, x].astype(float).sum(axis=1)
    return y - reach + int(np.argmin(column)) + 0.5


def _eye_centres(points: np.ndarray) -> np.ndarray:
    return np.array([points[36:42].mean(0), points[42:48].mean(0)])


def _feature_error(face, crop, crop_pts) -> float:
    """Colour distance between the original picture at the eye centres and mouth (a drawn iris, a red mouth)
    and the crop at the points given for the crop."""
    src = np.concatenate([_eye_centres(face.points), face.points[[62, 66]]])
    dst = np.concatenate([_eye_centres(crop_pts), crop_pts[[62, 66]]])
    return float(np.mean([np.abs(_at(face.image, a) - _at(crop, b)).mean() for a, b in zip(src, dst, strict=True)]))


@pytest.mark.parametrize("angle", [30.0, -30.0, 17.0])
@pytest.mark.parametrize("flip", [False, True])
def test_points_stay_on_the_drawn_eyes_and_mouth_under_rotation_shift_and_mirror(face, angle, flip):
    m = crop_matrix(face.box, SIZE, shift=(0.15, -0.1), zoom=1.0, angle=angle, stretch=1.1, flip=flip)
    crop, pts, order = warp_sample(face.image, face.points, m, SIZE, flip)
    right = _feature_error(face, crop, pts[np.argsort(order)])  # back in source order to compare
    # the same crop with the points left unrotated: the check can tell
    m0 = crop_matrix(face.box, SIZE, shift=(0.15, -0.1), zoom=1.0, angle=0.0, stretch=1.1, flip=flip)
    wrong = _feature_error(face, crop, (face.points @ m0[:, :2].T + m0[:, 2]))
    assert right < 12, right
    assert wrong > 2 * right + 10, (right, wrong)


def test_a_mirror_keeps_the_point_names_on_their_side(face):
    m = crop_matrix(face.box, SIZE, flip=True)
    _, pts, order = warp_sample(face.image, face.points, m, SIZE, True)
    # iBUG 36-41 is the eye on the image left, 0 the jaw's image-left end: still so after the mirror
    assert pts[36:42, 0].mean() < pts[42:48, 0].mean()
    assert pts[0, 0] < pts[16, 0]
    assert sorted(order.tolist()) == list(range(68)) and order[36] == 45


def test_chibi_squash_keeps_the_eyes_and_moves_mouth_and_chin_up_with_the_drawing(face):
    k = 0.6
    img, pts, box = chibi_squash(face.image, face.points, face.box, k)
    for part in (slice(17, 27), slice(36, 48)):  # brows and eyes do not move
        np.testing.assert_allclose(pts[part], face.points[part])
    y0 = np.ceil(face.points[36:48, 1].max())
    np.testing.assert_allclose(pts[8, 1] - y0, k * (face.points[8, 1] - y0), rtol=0.02)
    assert box[3] < face.box[3]
    assert face.points[8, 1] - pts[8, 1] > 5  # the chin moved up several pixels ...
    for i in (8, 48, 54):  # ... and the drawn chin line and mouth corners with it (darkest row of the column)
        assert abs(_darkest_row(face.image, face.points[i]) - face.points[i, 1]) <= 1.5
        assert abs(_darkest_row(img, pts[i]) - pts[i, 1]) <= 1.5
    with pytest.raises(ValueError, match="chibi squash factor"):
        chibi_squash(face.image, face.points, face.box, 1.5)


def test_a_long_face_moves_mouth_and_chin_down_with_the_drawing(face):
    k = 1.35
    img, pts, box = long_face(face.image, face.points, face.box, k)
    assert img.shape == face.image.shape
    for part in (slice(17, 27), slice(36, 48)):  # brows and eyes do not move
        np.testing.assert_allclose(pts[part], face.points[part])
    y0 = np.ceil(face.points[36:48, 1].max())
    np.testing.assert_allclose(pts[8, 1] - y0, k * (face.points[8, 1] - y0), rtol=0.02)
    assert box[3] > face.box[3] and pts[8, 1] - face.points[8, 1] > 5  # the chin moved down several pixels ...
    for i in (8, 48, 54):  # ... and the drawn chin line and mouth corners with it
        assert abs(_darkest_row(img, pts[i]) - pts[i, 1]) <= 1.5
    with pytest.raises(ValueError, match="long face factor"):
        long_face(face.image, face.points, face.box, 0.8)


def test_augment_sample_draws_crops_whose_points_sit_on_the_features(face):
    geometry_only = AugmentConfig(grey_prob=0, gamma=(1, 1), gain=(1, 1), bias=0, blur_prob=0, lowres_prob=0,
                                  jpeg_prob=0, noise_prob=0, chibi_prob=0, rotate_prob=1,
                                  zoom=(0.95, 1.05))  # near 1:1 pixels, so colours compare
    for seed in range(6):
        crop, pts, order = augment_sample(face.image, face.box, face.points, SIZE, np.random.default_rng(seed),
                                          geometry_only)
        assert crop.shape == (SIZE, SIZE, 3) and crop.dtype == np.uint8
        assert _feature_error(face, crop, pts[np.argsort(order)]) < 16  # stretch: not quite 1:1 pixels


def test_photometric_real_grey_and_screentone(face):
    crop = np.ascontiguousarray(face.image[:SIZE, :SIZE])
    grey = photometric_real(crop, np.random.default_rng(0), AugmentConfig(grey_prob=1, tone_prob=1, blur_prob=0,
                                                                          lowres_prob=0, jpeg_prob=0, noise_prob=0))
    assert grey.shape == crop.shape and grey.dtype == np.uint8
    assert (grey[:, :, 0] == grey[:, :, 1]).all() and (grey[:, :, 1] == grey[:, :, 2]).all()
    assert len(np.unique(grey)) > 2  # lines and paper kept, not only dots


def test_bad_augment_settings_name_the_field():
    with pytest.raises(ValueError, match="zoom"):
        AugmentConfig(zoom=(1.3, 0.7))
    with pytest.raises(ValueError, match="flip_prob"):
        AugmentConfig(flip_prob=1.5)


def test_augmented_pretraining_writes_a_model_the_backend_loads(tmp_path):
    from f2a_studio.core.models import Box, Parts
    from f2a_studio.detect.landmarks.augmented_pretrain import main
    from f2a_studio.detect.landmarks.learned import LearnedLandmarkBackend, load_net

    assert main(["--out", str(tmp_path), "--faces", "8", "--steps", "4", "--batch", "4", "--eval-faces", "2"]) == 0
    _, card = load_net(tmp_path)
    assert card["data"]["augment"]["rotate"] == AugmentConfig().rotate
    assert "augmented_pretrain" in card["train"]["command"]
    sample = varied_samples(5, 1, ["manga"], Variation())[0]
    result = LearnedLandmarkBackend(tmp_path).predict(sample.image, Box(*sample.box), Parts())
    assert result.points.shape == (68, 2) and np.isfinite(result.points).all()


def test_augmented_pretraining_builds_each_registered_architecture_with_its_own_defaults(tmp_path):
    from f2a_studio.detect.landmarks.augmented_pretrain import main
    from f2a_studio.detect.landmarks.learned import load_net
    from f2a_studio.detect.landmarks.nets import short_names

    args = ["--faces", "4", "--steps", "1", "--batch", "2", "--eval-faces", "1", "--widths", "4,8"]
    assert main(["--out", str(tmp_path / "d"), "--arch", "direct", "--size", "32", "--hidden", "8", *args]) == 0
    net, card = load_net(tmp_path / "d")
    assert card["net"]["architecture"] == short_names()["direct"] and card["net"]["hidden"] == 8
    assert net.cfg.size == 32 and net.cfg.widths == (4, 8)
    assert main(["--out", str(tmp_path / "h"), "--arch", "heatmap", *args]) == 0  # --hidden is not the heatmap's
    net, card = load_net(tmp_path / "h")
    assert card["net"]["architecture"] == short_names()["heatmap"] and net.cfg.size == 96  # the heatmap's default
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--arch", "heatmap", "--size", "30", *args])  # not a multiple of 4
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x"), "--arch", "direct", "--size", "30", *args])
