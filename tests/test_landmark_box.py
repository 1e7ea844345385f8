"""A person's loose box: animeface's view of the face inside it (detect/landmark_box.py) and the refit that
uses it, with the real animeface and the shipped learned landmark model on synthetic characters."""

from __future__ import annotations

import numpy as np
import pytest

from f2a_studio.core.models import Box, Face, FaceSource, FaceStatus
from f2a_studio.core.search_path import PACKAGE_MODELS
from f2a_studio.detect.landmark_box import animeface_view, drawn_by_person
from f2a_studio.detect.refit import refit_face
from f2a_studio.synth.scene import make_character_image


def loose(true: Box) -> Box:
    """A head box as a person drags it: half again as large, off to the left and up."""
    return Box(true.x - 0.15 * true.w, true.y - 0.3 * true.h, true.w * 1.5, true.h * 1.5)


def nme(face: Face, truth) -> float:
    pts = np.array([(x, y) for x, y, _ in face.landmarks])
    true = truth.points()
    iod = np.linalg.norm(true[36:42].mean(0) - true[42:48].mean(0))
    return float(np.mean(np.linalg.norm(pts - true, axis=1)) / iod)


def mean_face_nme(box: Box, truth) -> float:
    """The mean face placed in ``box``: what landmarks that follow the box instead of the face get."""
    from f2a_studio.detect.face_model import load_face_model
    from f2a_studio.detect.landmarks.template_fit import place_by_box

    pts = np.asarray(place_by_box(load_face_model(), box))[:, :2]
    return nme(Face(0, box, landmarks=tuple((float(x), float(y), 2) for x, y in pts)), truth)


@pytest.fixture(scope="module")
def characters():
    return [make_character_image(np.random.default_rng(seed), 320) for seed in range(3)]


def test_the_view_finds_the_face_inside_a_loose_box(characters) -> None:
    for panel in characters:
        true = Box(*panel.faces[0].box)
        box = loose(true)
        view = animeface_view(panel.image, box)
        assert view is not None
        assert view.box.iou(true) > true.iou(box) + 0.2  # much closer to the drawn face than the person's box
        eyes = panel.faces[0].points()[36:48].reshape(2, 6, 2).mean(1)  # image-left eye first
        for part, eye in zip((view.parts.left_eye, view.parts.right_eye), eyes, strict=True):
            assert part is not None
            assert np.linalg.norm(np.array(part.center) - eye) < 0.15 * true.w  # parts in image pixels


def test_no_view_where_there_is_no_face(characters) -> None:
    panel = characters[0]
    assert animeface_view(panel.image, Box(2, 2, 30, 30)) is None  # the background corner
    assert animeface_view(panel.image, Box(10, 10, 1, 1)) is None  # too small to look for anything
    grey = np.full((200, 200), 128, np.uint8)
    assert animeface_view(grey, Box(50, 50, 80, 80)) is None  # not RGB


@pytest.mark.parametrize("search_path", [[PACKAGE_MODELS], []], ids=["learned", "template"])
def test_a_persons_loose_box_gets_landmarks_on_the_face(characters, search_path) -> None:
    """The same loose box fitted as a person's and as a detector's: only the person's is re-looked at, and its
    landmarks land on the drawn face (the learned model on animeface's crop, the template on its parts)."""
    for panel in characters:
        box = loose(Box(*panel.faces[0].box))
        person = Face(image_id=0, box=box, source=FaceSource.HUMAN, status=FaceStatus.ACCEPTED)
        detector = Face(image_id=0, box=box)
        assert drawn_by_person(person) and not drawn_by_person(detector)
        fitted = refit_face(panel.image, person, search_path=search_path)
        as_detected = refit_face(panel.image, detector, search_path=search_path)
        assert fitted.box == box  # the person's box stays theirs
        # the view helps, and the points are on the drawn face, not where the box puts the mean face
        assert nme(fitted, panel.faces[0]) < nme(as_detected, panel.faces[0])
        assert nme(fitted, panel.faces[0]) < 0.5 * mean_face_nme(box, panel.faces[0])


def test_a_detector_box_a_person_moved_counts_as_theirs(characters) -> None:
    panel = characters[1]
    box = loose(Box(*panel.faces[0].box))
    moved = Face(image_id=0, box=box, human_fields=frozenset({"box"}))
    assert drawn_by_person(moved)
    fitted = refit_face(panel.image, moved, search_path=[PACKAGE_MODELS])
    assert nme(fitted, panel.faces[0]) < 0.7 * nme(refit_face(panel.image, Face(0, box), search_path=[PACKAGE_MODELS]),
                                                   panel.faces[0])


def test_without_a_view_the_person_box_is_fitted_as_it_is(characters) -> None:
    """On a box where animeface sees nothing, a person's face is fitted exactly as a detector's would be."""
    panel = characters[2]
    corner = Box(0, 0, 60, 60)
    assert animeface_view(panel.image, corner) is None
    person = refit_face(panel.image, Face(0, corner, source=FaceSource.HUMAN), search_path=[PACKAGE_MODELS])
    detector = refit_face(panel.image, Face(0, corner), search_path=[PACKAGE_MODELS])
    assert person.landmarks == detector.landmarks


def test_photos_are_not_looked_at_with_animeface(characters) -> None:
    panel = characters[0]
    box = loose(Box(*panel.faces[0].box))
    person = refit_face(panel.image, Face(0, box, source=FaceSource.HUMAN), search_path=[], domain="human")
    detector = refit_face(panel.image, Face(0, box), search_path=[], domain="human")
    assert person.landmarks == detector.landmarks


def test_train_landmarks_learns_from_the_crop_refit_gives_a_persons_box(tmp_path) -> None:
    """A corrected face whose box a person drew is learned from on animeface's view of it (the crop the model
    is given when fitting it); a detector's box is learned from as it is."""
    from dataclasses import replace

    from f2a_studio.detect.landmarks.learned_train import project_samples
    from tests.learn_projects import synthetic_project

    store, truths = synthetic_project(tmp_path / "p", 2, label_points=2, style="anime", size=320)
    with store:
        faces = [f for im in store.images() for f in store.faces(im.id)]
        drawn = store.update_face(replace(faces[0], box=loose(Box(*truths[0].box))), actor="human")
        assert "box" in drawn.human_fields
        samples = project_samples(store)[0] + project_samples(store)[1]
    boxes = [Box(*s.region.box_to_cut(s.box)) for s in samples]  # in the cut's pixels
    detector_box = faces[1].box
    assert any(b.iou(detector_box) > 0.999 for b in boxes)  # the detector's box, as it is
    (view_box,) = [b for b in boxes if b.iou(detector_box) <= 0.999]
    assert view_box.iou(drawn.box) < 0.999
    assert view_box.iou(Box(*truths[0].box)) > drawn.box.iou(Box(*truths[0].box)) + 0.2


def test_the_pipeline_fits_a_learned_finders_face_on_animefaces_view(characters) -> None:
    """A face only the learned finder proposed (no parts of its own) gets its landmarks from animeface's view
    of it; an animeface face as found keeps its own box and parts."""
    from f2a_studio.detect.analyze import AnalyzeOptions, Analyzer, landmark_view
    from f2a_studio.detect.finders.animeface import detect_raw
    from f2a_studio.detect.finders.base import FinderHit

    analyzer = Analyzer(AnalyzeOptions(search_path=(str(PACKAGE_MODELS),), threshold=0.0, finders=("animeface",)))
    panel = characters[0]
    true = Box(*panel.faces[0].box)
    own = analyzer.candidates(panel.image, [FinderHit(loose(true), 0.9)])[0]  # a head box, no parts
    viewed = landmark_view(panel.image, own)
    assert viewed.view is not None and viewed.landmark_box.iou(true) > own.hit.box.iou(true) + 0.2
    assert viewed.landmark_parts.left_eye is not None and own.hit.parts.left_eye is None
    plain = analyzer.finish(panel.image, own)
    fitted = analyzer.finish(panel.image, analyzer.refitted(viewed))
    assert fitted.box == plain.box and fitted.parts == own.hit.parts  # the face keeps the finder's box
    assert nme(fitted, panel.faces[0]) < nme(plain, panel.faces[0])
    assert nme(fitted, panel.faces[0]) < 0.5 * mean_face_nme(plain.box, panel.faces[0])
    as_found = analyzer.candidates(panel.image, detect_raw(panel.image))  # animeface's own: as found
    assert as_found and all(landmark_view(panel.image, c) is c for c in as_found)
