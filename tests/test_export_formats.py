"""Per-format layouts: pix2pix A|B as the reference aligned dataset reads it, concat4, cyclegan (+ human
photos), foreground masks, and the manifest's per-file records."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from test_export_data import draw_panel, project_fixture  # noqa: F401  (fixture)

from f2a_studio.core.errors import ValidationError
from f2a_studio.core.export_landmarks import LANDMARKS_NAME, read_landmarks
from f2a_studio.core.manifest import ManifestError
from f2a_studio.core.pts import write_pts
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import (
    ExportOptions,
    FaceFilter,
    draw_keypoints,
    plan_export,
    read_manifest,
    run_export,
    verify_export,
)

# data/image_folder.py of the reference pix2pix/CycleGAN code
REFERENCE_IMG_EXTENSIONS = [".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP",
                            ".tif", ".TIF", ".tiff", ".TIFF"]


def reference_make_dataset(folder: Path) -> list[str]:
    """What the reference `make_dataset` lists: image files anywhere under the folder, sorted by the caller."""
    assert folder.is_dir(), f"{folder} is not a valid directory"
    images = []
    for root, _, names in sorted(os.walk(folder)):
        images.extend(os.path.join(root, n) for n in names if any(n.endswith(e) for e in REFERENCE_IMG_EXTENSIONS))
    return images


def reference_aligned_items(dataroot: Path, phase: str) -> list[tuple[str, Image.Image, Image.Image]]:
    """The reference AlignedDataset.__getitem__ up to its transforms: open, RGB, split at w/2 into A | B."""
    out = []
    for path in sorted(reference_make_dataset(dataroot / phase)):
        ab = Image.open(path).convert("RGB")
        w, h = ab.size
        w2 = int(w / 2)
        out.append((path, ab.crop((0, 0, w2, h)), ab.crop((w2, 0, w, h))))
    return out


def export(built, tmp_path: Path, name: str, **options) -> tuple[Path, object]:
    with ProjectStore.open(built.root, read_only=True) as store:
        plan = plan_export(store, ExportOptions(**options))
    out = tmp_path / name
    run_export(plan, out)
    return out, plan


def face_by_id(built, face_id: int):
    return next(f for f in built.faces if f.id == face_id)


def golden_canonical(size: int) -> np.ndarray:
    """Left eye, right eye, mouth in a crop of margin 0.3, worked out by hand from the documented face
    units (eyes at x = ∓0.218, mouth at y = 0.456, centre y = 0.05, span 1.3 · (1 + 2 · 0.3) = 2.08):
    x = (∓0.218 / 2.08 + 0.5) · size, y = (−0.05 / 2.08 + 0.5) · size and (0.406 / 2.08 + 0.5) · size."""
    return np.array([[0.395192, 0.475962], [0.604808, 0.475962], [0.5, 0.695192]]) * size


def independent_alignment(landmarks, size: int) -> np.ndarray:
    """A second implementation of the alignment (not core.align): eye and outer-lip centres → the golden
    points by a least-squares similarity solved as a real 6×4 linear system; 2×3, corner convention."""
    pts = np.asarray(landmarks, dtype=np.float64)
    src = np.array([pts[36:42, :2].mean(0), pts[42:48, :2].mean(0), pts[48:60, :2].mean(0)])
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, golden_canonical(size), strict=True):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


def independent_crop(cut_rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Plain bilinear warp on white; OpenCV puts pixel centres at integers, hence the half-pixel shift."""
    m = matrix.copy()
    m[:, 2] += m[:, :2] @ [0.5, 0.5] - 0.5
    return cv2.warpAffine(cut_rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(255, 255, 255))


def blurred(rgb: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), 1.5).astype(int)


def drawing_mismatch(got: np.ndarray, expected: np.ndarray) -> float:
    """Share of pixels that differ by more than anti-aliasing noise (the two matrices agree to ~1e-12,
    which can move a line end across a 1/16 px rounding step)."""
    diff = np.abs(got.astype(int) - expected.astype(int))
    return float((diff.max(axis=-1) if diff.ndim == 3 else diff) .__gt__(40).mean())


def test_pix2pix_loads_as_reference_aligned_dataset_with_a_the_keypoint_drawing(project, tmp_path):
    out, plan = export(project, tmp_path, "p2p", format="pix2pix", size=128, workers=0)
    manifest = read_manifest(out)
    by_path = {f["path"]: f for f in manifest.files}
    seen = 0
    for phase in ("train", "val", "test"):
        items = reference_aligned_items(out, phase)
        assert len(items) == plan.counts()[phase] > 0
        for path, a, b in items:
            assert a.size == b.size == (128, 128)
            record = by_path[str(Path(path).relative_to(out))]
            face = face_by_id(project, record["faces"][0]["id"])
            assert record["faces"][0]["revision"] == face.revision
            matrix = independent_alignment(face.landmarks, 128)
            aligned = np.asarray(face.landmarks, dtype=np.float64).copy()
            aligned[:, :2] = aligned[:, :2] @ matrix[:, :2].T + matrix[:, 2]
            assert drawing_mismatch(np.asarray(a), draw_keypoints(aligned, 128)) < 0.003
            with ProjectStore.open(project.root, read_only=True) as store:
                cut = cv2.cvtColor(cv2.imread(str(store.cut_file(store.image(face.image_id)))), cv2.COLOR_BGR2RGB)
            # B is the cut under that similarity; the exporter pre-shrinks strong downscales against aliasing
            # where a plain bilinear warp does not, so they are compared after the same light blur
            diff = np.abs(blurred(np.asarray(b)) - blurred(independent_crop(cut, matrix, 128)))
            assert diff.mean() < 2.0 and np.percentile(diff, 99) < 25
            seen += 1
    assert seen == len(project.faces)
    assert Image.open(manifest.files_in("train")[0]).size == (256, 128)  # 2N × N
    assert verify_export(out) == []


def test_concat4_is_rgba_face_plus_keypoint_map(project, tmp_path):
    out, _ = export(project, tmp_path, "c4", format="concat4", size=64, workers=0)
    record = read_manifest(out).files_in("train")[0]
    rgba = np.asarray(Image.open(record))
    assert rgba.shape == (64, 64, 4)
    face = face_by_id(project, int(record.stem.rsplit("face", 1)[1]))
    matrix = independent_alignment(face.landmarks, 64)
    aligned = np.asarray(face.landmarks, dtype=np.float64).copy()
    aligned[:, :2] = aligned[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    assert drawing_mismatch(rgba[:, :, 3], draw_keypoints(aligned, 64, mono=True)) < 0.003
    with ProjectStore.open(project.root, read_only=True) as store:
        cut = cv2.cvtColor(cv2.imread(str(store.cut_file(store.image(face.image_id)))), cv2.COLOR_BGR2RGB)
    diff = np.abs(blurred(rgba[:, :, :3]) - blurred(independent_crop(cut, matrix, 64)))
    assert diff.mean() < 2.0 and np.percentile(diff, 99) < 25
    assert rgba[:, :, :3].std() > 10  # a face, not a blank
    with pytest.raises(ValidationError, match="4th channel"):
        ExportOptions(format="concat4", foreground=True, background="transparent")


def test_cyclegan_domains_with_human_photos_from_pts_files(project, tmp_path):
    photos = tmp_path / "humans"
    photos.mkdir()
    rng = np.random.default_rng(5)
    for i in range(5):
        pixels, truths = draw_panel(rng, 1)
        cv2.imwrite(str(photos / f"person{i}.jpg"), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if i < 4:
            write_pts(photos / f"person{i}.pts", truths[0].points())
    (photos / "person3.pts").write_text("version: 1\nn_points: 2\n{\n1 2\n3 4\n}\n")  # broken
    out, plan = export(project, tmp_path, "cg", format="cyclegan", size=64, workers=0, human_photos=str(photos),
                       ratios=(0.5, 0.0, 0.5))
    a_files = sorted(p.name for d in ("trainA", "testA") if (out / d).is_dir() for p in (out / d).iterdir())
    assert a_files == ["person0.png", "person1.png", "person2.png"]
    assert {p.parent.name for p in out.rglob("*.png")} <= {"trainA", "testA", "trainB", "testB"}
    assert len(list(out.glob("*B/*.png"))) == len(project.faces)
    skipped = {Path(s["path"]).name: s["reason"] for s in read_manifest(out).data["human_photos"]["skipped"]}
    assert "found 2" in skipped["person3.jpg"] and "person4.pts is missing" in skipped["person4.jpg"]
    assert any("2 skipped" in line for line in plan.dry_run_lines())
    with pytest.raises(ValidationError, match="only used by the cyclegan"):
        ExportOptions(format="pix2pix", human_photos=str(photos))


def test_foreground_from_alpha_is_white_or_transparent_background(tmp_path):
    from test_export_data import build_project

    built = build_project(tmp_path / "alpha", titles=("7",), episodes=1, cuts=1, faces_per_cut=1, alpha=True)
    white, _ = export(built, tmp_path, "white", format="cyclegan", size=128, foreground=True, workers=0)
    clear, _ = export(built, tmp_path, "clear", format="cyclegan", size=128, foreground=True,
                      background="transparent", workers=0)
    plain, _ = export(built, tmp_path, "plain", format="cyclegan", size=128, workers=0)
    w = np.asarray(Image.open(next(white.glob("*B/*.png"))))
    t = np.asarray(Image.open(next(clear.glob("*B/*.png"))))
    p = np.asarray(Image.open(next(plain.glob("*B/*.png"))))
    assert w.shape == (128, 128, 3) and t.shape == (128, 128, 4)
    corner = (slice(0, 6), slice(0, 6))
    assert (w[corner] == 255).all() and (t[corner][:, :, 3] == 0).all()
    assert p.shape == (128, 128, 3)  # without --foreground an RGBA cut is flattened onto white
    assert (t[t[:, :, 3] == 0][:, :3] == 255).all()  # tools that drop alpha still see white
    assert t[64, 64, 3] == 255 and np.array_equal(t[64, 64, :3], w[64, 64])  # the face itself is kept


def test_foreground_by_grabcut_removes_the_panel_background(project, tmp_path):
    out, _ = export(project, tmp_path, "fg", format="cyclegan", size=128, foreground=True, workers=0,
                    filters=FaceFilter(episodes=("111_1",)))
    files = sorted(out.glob("*B/*.png"))
    assert files
    for path in files:
        img = np.asarray(Image.open(path)).astype(int)
        border = np.concatenate([img[:3].reshape(-1, 3), img[:, :3].reshape(-1, 3), img[:, -3:].reshape(-1, 3)])
        assert (border == 255).all(axis=1).mean() > 0.9, path.name  # background is gone
        assert (img[40:90, 40:90] != 255).any(axis=2).mean() > 0.8, path.name  # the face is still there


def test_manifest_records_every_file_with_hash_face_and_revision(project, tmp_path):
    out, _ = export(project, tmp_path, "m", format="pix2pix", size=64, workers=0, seed=3)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "pix2pix" and manifest["seed"] == 3
    assert manifest["options"]["size"] == 64 and manifest["filters"]["statuses"] == ["accepted"]
    assert manifest["counts"]["faces"] == len(project.faces)
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert sorted(f["path"] for f in manifest["files"]) == on_disk
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
        if f["path"] == LANDMARKS_NAME:  # the face files' aligned landmarks (core.export_landmarks), by path
            assert f["faces"] == [] and f["split"] is None
        else:
            assert len(f["faces"]) == 1 and f["faces"][0]["revision"] == 1
    (out / manifest["files"][0]["path"]).write_bytes(b"tampered")
    assert verify_export(out) == [f"{manifest['files'][0]['path']}: sha256 differs"]


def test_landmarks_json_holds_each_face_files_aligned_points_box_and_sex(project, tmp_path):
    """The trainer's landmark figure reads the exact keypoints back (a drawing cannot be inverted): each face
    file's 68 points under an independent alignment, its face box mapped into the crop, its P(female)."""
    out, _ = export(project, tmp_path, "lm", format="pix2pix", size=128, workers=0)
    faces = read_landmarks(out)
    records = {f["path"]: f for f in read_manifest(out).files if f["path"].endswith(".png")}
    assert set(faces) == set(records) and len(faces) == len(project.faces)
    for path, record in records.items():
        face = face_by_id(project, record["faces"][0]["id"])
        matrix = independent_alignment(face.landmarks, 128)
        expected = np.asarray(face.landmarks, dtype=np.float64).copy()
        expected[:, :2] = expected[:, :2] @ matrix[:, :2].T + matrix[:, 2]
        got = faces[path]
        assert np.abs(got.landmarks - expected).max() < 0.01  # rounded to 1/1000 px
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        centre = matrix[:, :2] @ np.array([face.box.x + face.box.w / 2, face.box.y + face.box.h / 2]) + matrix[:, 2]
        assert got.box is not None
        assert np.allclose(got.box[2:], (face.box.w * scale, face.box.h * scale), atol=0.01)
        assert np.allclose((got.box[0] + got.box[2] / 2, got.box[1] + got.box[3] / 2), centre, atol=0.01)
        want = 0.5 if face.sex.value == "unknown" else (face.sex_prob if face.sex_prob is not None else 1.0)
        if face.sex.value == "male":
            want = 1.0 - want
        assert got.p_female == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("broken, message", [
    (None, "no landmarks.json"),
    (b"{not json", "cannot be read"),
    (b'{"format": "other", "faces": []}', "not an F2A export landmarks file"),
    (b'{"format": "f2a-export-landmarks", "version": 1, "faces": [{"path": "a.png", "landmarks": [[1, 2, 2]]}]}',
     "landmarks must be 68"),
    (b'{"format": "f2a-export-landmarks", "version": 9, "faces": []}', "reads up to 1"),
])
def test_a_missing_or_malformed_landmarks_json_is_named(tmp_path, broken, message):
    if broken is not None:
        (tmp_path / "landmarks.json").write_bytes(broken)
    with pytest.raises(ManifestError, match=message):
        read_landmarks(tmp_path)
