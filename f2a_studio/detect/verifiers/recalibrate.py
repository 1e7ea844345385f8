"""The crop verifier's map refitted from the project's review decisions (`f2a calibrate`).

`f2a train-finder` fits the verifier's map (its card's "calibration") on the held-back cuts' candidates:
a fifth of the reviewed cuts, 7-34 faces on the devset, and often not of every kind of picture, so what a
score of 0.5 means moves from one training to the next (devset, 10 runs: the threshold that gives precision
0.85 ranged 0.28-0.53, and the slider at 0.5 kept 0.30-0.67 of the faces). What the annotators accept and
reject afterwards is many more candidates of the very population the map is applied to. So `f2a calibrate`
refits the map (Platt, as train-finder fits it) on the held-back points the card keeps pooled with every
decided verified detection, and writes calibration-verifier-learned.json beside the verifier, tied to its
weights' sha256 (a retrained verifier ignores it until it is refitted). Each decision is judged again by
the current verifier from its stored box, and its finder score comes from the finder's current map: a
decision made under an older verifier or finder map counts on today's scale, and a box a person redrew is
judged where detection had put it. Devset, the same 10 runs, one half of each scored part reviewed at the
default threshold and the other half scored (benchmarks/verifier_devset.py, "recalibrated"): at the
slider's 0.5 recall 0.533 → 0.642 at precision 0.904 → 0.852, where the oracle threshold for precision
0.85 gives 0.638 (results/verifier_devset_recalibrated_2026-12-07.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.files import write_bytes_atomic
from f2a_studio.core.models import Box, Face, FaceStatus
from f2a_studio.detect.finders.calibration import ScoreMap
from f2a_studio.detect.finders.project_calibration import MIN_ACCEPTED, MIN_REJECTED  # decisions needed, as there
from f2a_studio.detect.finders.score_fit import ScoreFit, platt_fit

HELD_BACK_KEY = "held_back_points"  # the card's [combined score, is a face] pairs its map was fitted on
MAP_FILE = "calibration-verifier-learned.json"


@dataclass(frozen=True)
class Points:
    """Combined scores (before the map) and whether each is a face (held back) or was accepted (decided)."""

    scores: list[float]
    faces: list[bool]

    @property
    def positives(self) -> int:
        return sum(self.faces)

    @property
    def negatives(self) -> int:
        return len(self.faces) - sum(self.faces)


def card_points(scores: Sequence[float], faces: Sequence[bool]) -> list[list[float]]:
    """The held-back points as the card stores them (rounded: a few hundred pairs of small JSON)."""
    return [[round(float(s), 6), int(bool(f))] for s, f in zip(scores, faces, strict=True)]


def held_back_points(card: dict) -> Points:
    rows = card.get(HELD_BACK_KEY) or []
    try:
        return Points([float(s) for s, _ in rows], [bool(f) for _, f in rows])
    except (TypeError, ValueError) as exc:
        raise F2AError(f"the verifier card's {HELD_BACK_KEY!r} is not a list of [score, is a face] pairs") from exc


def fit_verifier_map(held: Points, decided: Points, source: str) -> ScoreFit:
    """Platt on the held-back points and the decisions together; too few decisions: F2AError saying how
    many more (the held-back points alone are what the card's map already is)."""
    if decided.positives < MIN_ACCEPTED or decided.negatives < MIN_REJECTED:
        raise F2AError(f"{source}: {decided.positives} accepted and {decided.negatives} rejected verified "
                       f"detection(s); refitting the verifier's map needs at least {MIN_ACCEPTED} and "
                       f"{MIN_REJECTED}: review {max(0, MIN_ACCEPTED - decided.positives)} and "
                       f"{max(0, MIN_REJECTED - decided.negatives)} more")
    return platt_fit(held.scores + decided.scores, held.faces + decided.faces, source=source)


def decided_points(faces: Sequence[Face], pixels_of: Callable[[int], np.ndarray], verifier,
                   finder_score: Callable[[Face], float],
                   box_of: Callable[[Face], list[float]] = lambda f: f.box.to_list()) -> Points:
    """Every accepted or rejected detection the verifier scored (its features hold the verifier's p),
    judged again by ``verifier`` on ``box_of(face)`` (the box as detected) and combined with
    ``finder_score(face)``."""
    from f2a_studio.detect.finders.project_calibration import is_decided_detection
    from f2a_studio.detect.verifiers import VERIFIER_FEATURE

    chosen = [f for f in faces if is_decided_detection(f) and VERIFIER_FEATURE in dict(f.score_features)]
    scores, accepted = [], []
    by_image: dict[int, list[Face]] = {}
    for f in chosen:
        by_image.setdefault(f.image_id, []).append(f)
    for image_id, group in sorted(by_image.items()):
        p = verifier.p_face(pixels_of(image_id), [box_of(f) for f in group])
        for face, pf in zip(group, p, strict=True):
            scores.append(verifier.combine(float(pf), finder_score(face)))
            accepted.append(face.status is FaceStatus.ACCEPTED)
    return Points(scores, accepted)


def detected_box(store, face: Face) -> list[float]:
    """The face's box as detection stored it: a box a person redrew is not what the score was about (its
    crop would look better than the detection's did), so it is read back from the face's first logged edit."""
    if "box" not in face.human_fields or face.id is None:
        return face.box.to_list()
    first = store.edits(face_id=face.id, limit=1)
    if not first or not first[0].after:
        return face.box.to_list()
    return Box.from_list(first[0].after["box"]).to_list()


def refit_summary(item: dict) -> str:
    """One line on what write_verifier_map wrote (and refit_project_verifier returned)."""
    got = item["fitted_from"]
    where = f"title {item['title']}'s crop verifier" if item.get("title") else "crop verifier"
    return (f"{where}: map refitted on {got['decisions']['accepted']} accepted and "
            f"{got['decisions']['rejected']} rejected verified detection(s)")


def map_path(folder: Path) -> Path:
    return Path(folder) / MAP_FILE


def write_verifier_map(folder: Path, weights_sha256: str, fit: ScoreFit, held: Points, decided: Points,
                       fitted_at: str) -> dict:
    data = {"verifier": "learned", "weights_sha256": weights_sha256, "calibration": fit.to_json(),
            "fitted_from": {"held_back": {"faces": held.positives, "others": held.negatives},
                            "decisions": {"accepted": decided.positives, "rejected": decided.negatives}},
            "fitted_at": fitted_at}
    path = map_path(folder)
    write_bytes_atomic(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
    return data | {"file": str(path)}


def read_verifier_map(folder: Path, weights_sha256: str) -> ScoreMap | None:
    """The project's refitted map for the verifier in ``folder`` with these weights, or None (no file, or
    fitted for other weights); an unreadable file is an F2AError naming it."""
    path = map_path(folder)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise F2AError(f"{path}: not a readable verifier calibration ({exc}); refit it with f2a calibrate") from exc
    if not isinstance(data, dict) or not isinstance(data.get("calibration"), dict):
        raise F2AError(f"{path}: no 'calibration' object; refit it with f2a calibrate")
    if data.get("weights_sha256") != weights_sha256:
        return None
    return ScoreMap.from_json(data["calibration"], str(path))


def verifier_folder(store, title: str | None = None) -> Path:
    """Where the verifier that scores ``title``'s cuts (None: the project's) lives: where train-finder writes it."""
    from f2a_studio.detect.finders.learned_project import output_dir

    return output_dir(store, title)


def project_verifier(store, title: str | None = None):
    """The project's verifier (or ``title``'s own), loaded; F2AError when there is none or it does not load."""
    from f2a_studio.detect.verifiers.learned import LearnedVerifier

    folder = verifier_folder(store, title)
    if not LearnedVerifier.folders([folder]):
        raise F2AError(f"{folder}: no crop verifier to recalibrate (f2a train-finder trains one)")
    verifier = LearnedVerifier(folder)
    verifier.load()
    return verifier


def own_verifier_titles(store) -> set[str]:
    """Titles with a verifier of their own (`f2a train-finder --title`): their cuts are scored by it, so its
    map is refitted from their decisions, and the project's verifier neither learns from them nor re-scores
    them."""
    from f2a_studio.detect.verifiers.learned import LearnedVerifier

    titles = {r.title_id for r in store.images()}
    return {t for t in titles if LearnedVerifier.folders([verifier_folder(store, t)])}


def _scope(store, title: str | None) -> Callable[[int], bool]:
    """Which cuts a verifier scores: ``title``'s, or (None) those of every title without a verifier of its own."""
    others = own_verifier_titles(store)
    title_of = {r.id: r.title_id for r in store.images()}
    if title:
        return lambda image_id: title_of.get(image_id) == title
    return lambda image_id: title_of.get(image_id) not in others


def finder_scorer(search_path: Sequence[Path]) -> Callable[[Face], float]:
    """A detection's finder score as detection would give it now: its finder's own calibrated score
    (base_score) through that finder's current project map, when one was fitted for its model."""
    from f2a_studio.detect.finders.project_calibration import base_score, project_map

    maps: dict[tuple[str, str], ScoreMap | None] = {}

    def finder_score(face: Face) -> float:
        key = (face.finder, face.finder_sha256)
        if key not in maps:
            maps[key] = project_map(face.finder, face.finder_sha256, search_path)
        own = base_score(face)
        return maps[key](own) if maps[key] is not None else own

    return finder_score


def cut_pixels(store, image_id: int) -> np.ndarray:
    from f2a_studio.core.imageio import load_image

    return np.ascontiguousarray(load_image(store.cut_file(store.image(image_id))).pixels[:, :, :3])


def refit_project_verifier(store, search_path: Sequence[Path], title: str | None = None) -> dict:
    """Refit the map of the project's verifier (PROJECT/checkpoints; with ``title``, that title's own) from
    the decisions on the cuts it scores, and write it beside the card; returns what was written. No
    verifier, an unreadable one or too few decisions: F2AError saying so. Run after the finders' maps are
    refitted: each decision's finder score goes through its finder's current project map, as detection
    will score it."""
    from f2a_studio.core.store import utc_now

    verifier = project_verifier(store, title)
    held = held_back_points(verifier.card)
    scored_here = _scope(store, title)
    faces = [f for f in store.all_faces() if scored_here(f.image_id)]
    decided = decided_points(faces, lambda i: cut_pixels(store, i), verifier, finder_scorer(search_path),
                             lambda f: detected_box(store, f))
    where = f"title {title}'s" if title else "the project's"
    fit = fit_verifier_map(held, decided, f"verified detections on {where} cuts in {store.root}")
    return write_verifier_map(verifier_folder(store, title), verifier.model_file().sha256, fit, held, decided,
                              utc_now()) | {"title": title}


def rescore_unreviewed(store, search_path: Sequence[Path], image_ids: Sequence[int],
                       should_stop: Callable[[], bool] = lambda: False) -> list[int]:
    """Give every unreviewed verified detection on these cuts the score detection would give it now: judged
    again by the verifier that scores the cut (its title's own, else the project's) and mapped by its
    current map (after `f2a calibrate`, or a new verifier). For cuts a person touched, which re-detection
    leaves alone: their other detections would keep the old scale under the one threshold. Only the score
    and the verifier's p change (actor "model", revision-checked: a person's edit meanwhile wins). Returns
    the ids of the faces whose score changed; a cut whose verifier is missing or has no map: untouched."""
    from dataclasses import replace

    from f2a_studio.core.errors import StaleEditError
    from f2a_studio.core.models import FaceSource
    from f2a_studio.detect.verifiers import VERIFIER_FEATURE

    own = own_verifier_titles(store)
    verifiers: dict[str | None, object | None] = {}

    def verifier_for(image_id: int):
        title = store.image(image_id).title_id
        key = title if title in own else None
        if key not in verifiers:
            try:
                loaded = project_verifier(store, key)
            except F2AError:
                loaded = None
            verifiers[key] = loaded if loaded is not None and loaded.calibration is not None else None
        return verifiers[key]

    finder_score = finder_scorer(search_path)
    changed: list[int] = []
    for image_id in image_ids:
        if should_stop():
            break
        verifier = verifier_for(image_id)
        if verifier is None:
            continue
        faces = [f for f in store.faces(image_id) if f.status is FaceStatus.UNREVIEWED
                 and f.source is not FaceSource.HUMAN and VERIFIER_FEATURE in dict(f.score_features)]
        if not faces:
            continue
        p = verifier.p_face(cut_pixels(store, image_id), [detected_box(store, f) for f in faces])
        for face, pf in zip(faces, p, strict=True):
            score = round(verifier.rescore(float(pf), finder_score(face)), 4)
            if score == round(face.score, 4):
                continue
            features = tuple((k, round(float(pf), 6) if k == VERIFIER_FEATURE else v) for k, v in face.score_features)
            try:
                store.update_face(replace(face, score=score, score_features=features), actor="model")
            except StaleEditError:
                continue
            assert face.id is not None
            changed.append(face.id)
    return changed
