"""The anime models learn from anime faces only: in a project holding both domains, the human photos
(CycleGAN's domain A, labelled by a person too) never reach the landmark, sex or finder trainers, and the
anime models are never run on them (sex prediction, refits, the review queue's landmark signal).

Real synthetic anime cuts and real LFW photos (scikit-image's lfw_subset, upscaled) through the importer,
real networks of the real architecture at a tiny width, real training steps.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import write_png
from skimage.data import lfw_subset

from f2a_studio.core.imageio import load_image
from f2a_studio.core.importer import import_sources
from f2a_studio.core.models import Box, Domain, Face, FaceSource, FaceStatus, Sex
from f2a_studio.core.provenance import human_faces
from f2a_studio.core.pts import write_pts
from f2a_studio.core.store import ProjectStore
from f2a_studio.detect.cropnet import model_paths, save_model
from f2a_studio.detect.face_model import load_face_model
from f2a_studio.detect.landmarks.template_fit import place_by_box
from tests.learn_projects import synthetic_project

PHOTOS = 6
UPSCALE = 4  # LFW patches are 25 px: 100 px faces, as benchmarks/human_bench.py


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: shared cores


def add_labelled_photos(store: ProjectStore, folder: Path) -> list[Face]:
    """PHOTOS LFW faces imported as domain human, each with a .pts beside it (a person's 68 points), then
    given a sex and accepted by a person: labels of every kind an anime trainer could read."""
    model = load_face_model()
    for i, patch in enumerate(lfw_subset()[:PHOTOS]):
        grey = cv2.resize((patch * 255).astype(np.uint8), None, fx=UPSCALE, fy=UPSCALE,
                          interpolation=cv2.INTER_CUBIC)
        write_png(folder / f"lfw_{i:02d}.png", np.dstack([grey] * 3))
        points = place_by_box(model, Box(15, 20, 70, 70))
        write_pts(folder / f"lfw_{i:02d}.pts", points)
    report = import_sources(store, [folder], domain="human")
    assert len(report.added) == PHOTOS
    out = []
    for record in store.images(domain=Domain.HUMAN):
        (face,) = store.faces(record.id)
        assert "landmarks" in face.human_fields  # the .pts made it a person's landmarks
        out.append(store.update_face(replace(face, sex=Sex.FEMALE, sex_prob=1.0, status=FaceStatus.ACCEPTED),
                                     actor="human"))
    return out


@pytest.fixture()
def both(tmp_path: Path) -> tuple[ProjectStore, list[Face]]:
    store, _ = synthetic_project(tmp_path / "p", 8, label_sex=8, label_points=8, size=96)
    photos = add_labelled_photos(store, tmp_path / "photos")
    yield store, photos
    store.close()


def anime_ids(store: ProjectStore) -> set[int]:
    return {r.id for r in store.images(domain=Domain.ANIME)}


def test_the_training_readers_see_the_anime_faces_only(both) -> None:
    from f2a_studio.detect.finders.learned_project import reviewed_cuts
    from f2a_studio.detect.landmarks.learned_train import project_samples
    from f2a_studio.detect.sex.train import project_data

    store, photos = both
    everyone = human_faces(store)
    assert {h.face_id for h in everyone} >= {f.id for f in photos}  # the photos' labels are human work
    anime = human_faces(store, Domain.ANIME)
    assert anime and {h.image_id for h in anime} <= anime_ids(store) and len(anime) == len(everyone) - PHOTOS
    assert project_samples(store)[2]["corrected_faces"] == 8
    assert project_data(store)[2]["labelled_faces"] == 8
    for cut in [store.image(f.image_id) for f in photos]:
        assert all(c.image.id != cut.id for c in reviewed_cuts(store))  # accepted, but not the anime finder's


def test_training_landmarks_and_sex_on_both_domains_counts_the_anime_faces(both, tmp_path: Path) -> None:
    from f2a_studio.detect.landmarks import learned as lm_learned
    from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig
    from f2a_studio.detect.landmarks.learned_train import train_project as train_landmarks
    from f2a_studio.detect.sex.backends import STEM as SEX_STEM
    from f2a_studio.detect.sex.net import SexNet, SexNetConfig
    from f2a_studio.detect.sex.train import train_project as train_sex

    store, _ = both
    torch.manual_seed(0)
    lm_cfg, sex_cfg = LandmarkNetConfig(widths=(4, 8, 8, 8), hidden=16), SexNetConfig(widths=(4, 8, 8, 8))
    save_model(tmp_path / "m", lm_learned.STEM, LandmarkNet(lm_cfg).state_dict(), {"net": lm_cfg.to_json()})
    save_model(tmp_path / "m", SEX_STEM, SexNet(sex_cfg).state_dict(), {"net": sex_cfg.to_json()})
    card = train_landmarks(store, steps=3, min_faces=4, base=[tmp_path / "m"])
    assert card["data"]["corrected_faces"] == 8
    assert card["data"]["train_faces"] + card["data"]["held_back_faces"] == 8
    assert card["data"]["points"] <= 8 * 68
    n_f = sum(1 for h in human_faces(store, Domain.ANIME) if h.sex is Sex.FEMALE)
    if min(n_f, 8 - n_f) < 3:
        pytest.skip(f"the synthetic cuts drew {n_f} female faces of 8: too few of one sex to train on")
    card = train_sex(store, steps=3, min_faces=6, base=[tmp_path / "m"])
    assert card["data"]["labelled_faces"] == 8
    assert model_paths(store.checkpoints_dir, SEX_STEM)[0].is_file()


def test_the_anime_models_are_not_run_on_photos(both, tmp_path: Path) -> None:
    from f2a_studio.detect.landmarks import learned as lm_learned
    from f2a_studio.detect.landmarks.learned_net import LandmarkNet, LandmarkNetConfig
    from f2a_studio.detect.refit import refit_face
    from f2a_studio.detect.review_signals import open_faces
    from f2a_studio.detect.sex.backends import STEM as SEX_STEM
    from f2a_studio.detect.sex.net import SexNet, SexNetConfig
    from f2a_studio.detect.sex.train import predict_project

    store, photos = both
    record = store.image(photos[0].image_id)
    unlabelled = store.add_face(Face(record.id, Box(10, 10, 60, 60), source=FaceSource.DETECTOR,
                                     landmarks=photos[0].landmarks), actor="detector")
    anime_face = store.faces(store.images(domain=Domain.ANIME)[0].id)[0]
    other = store.add_face(replace(anime_face, id=None, sex=Sex.UNKNOWN, sex_prob=None, human_fields=frozenset(),
                                   human_points=frozenset()), actor="detector")
    torch.manual_seed(0)
    sex_cfg = SexNetConfig(widths=(4, 8, 8, 8))
    save_model(tmp_path / "s", SEX_STEM, SexNet(sex_cfg).state_dict(), {"net": sex_cfg.to_json()})
    predicted = predict_project(store, search_path=[tmp_path / "s"])
    assert predicted["backend"] == "learned"
    assert store.face(unlabelled.id).sex is Sex.UNKNOWN  # no anime sex guess on a photo
    assert store.face(other.id).sex is not Sex.UNKNOWN  # ... while an anime face got one
    assert predicted["kept_human"] == 8  # the photos' sexes are not counted as the anime model's
    assert all(r.domain is Domain.ANIME for r, _ in open_faces(store))

    torch.manual_seed(0)
    cfg = LandmarkNetConfig(widths=(4, 8, 8, 8), hidden=16)
    save_model(tmp_path / "m", lm_learned.STEM, LandmarkNet(cfg).state_dict(), {"net": cfg.to_json()})
    pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
    learned = refit_face(pixels, unlabelled, search_path=[tmp_path / "m"])  # as if it were an anime face
    as_photo = refit_face(pixels, unlabelled, search_path=[tmp_path / "m"], domain="human")
    without_model = refit_face(pixels, unlabelled, search_path=[], domain="human")
    assert as_photo.landmarks == without_model.landmarks  # the learned model stays out of a photo's refit
    assert learned.landmarks != as_photo.landmarks  # ... and would have changed it
