"""One image, start to finish: every finder, per-finder calibration, the project's crop verifier (when
it has one, detect/verifiers/), one NMS across finders (with a verifier, each kept box then placed by the
candidates' vote, nms.voted_boxes), then parts, landmarks, colours, visibility, pose.

This is the heavy part; it runs inside worker processes (worker.py), never in the studio's process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from f2a_studio.core.models import Box, Colors, Face, FaceSource, Parts, Pose
from f2a_studio.core.search_path import model_search_path
from f2a_studio.detect.colors import FaceFrame, estimate_colors, face_frame
from f2a_studio.detect.face_model import FaceModel, load_face_model
from f2a_studio.detect.finder import Detector, find_raw, find_whole
from f2a_studio.detect.finders import choose_finders, finders_for_domain, load_finders, load_plugins
from f2a_studio.detect.finders.base import FinderHit, ModelFile
from f2a_studio.detect.finders.calibration import Features, HitCalibration, calibration_for
from f2a_studio.detect.guide import GuideOptions, coarse_windows, proposal_windows
from f2a_studio.detect.landmark_box import animeface_view, has_parts
from f2a_studio.detect.landmarks import LandmarkBackend, load_backend
from f2a_studio.detect.landmarks.template_fit import TemplateFit, fit_template
from f2a_studio.detect.landmarks.visibility import visibility
from f2a_studio.detect.nms import nms, voted_boxes
from f2a_studio.detect.pose import estimate_pose
from f2a_studio.detect.sex import apply_prediction, choose_sex_backend
from f2a_studio.detect.verifiers import (
    REFINED_FEATURE,
    UNVERIFIED_FEATURE,
    VERIFIER_FEATURE,
    ChosenVerifier,
    choose_verifier,
)

DEFAULT_THRESHOLD = 0.3
VOTED_FEATURE = "voted_iou"  # IoU of the NMS's box with the box the candidates voted for (when it moved)
SMALL_FACE_PASSES = ("guided", "full")  # see AnalyzeOptions.small_faces


@dataclass(frozen=True)
class AnalyzeOptions:
    threshold: float = DEFAULT_THRESHOLD  # on the calibrated score, 0..1
    min_face_px: float = 24.0  # smallest face looked for (drives the up-scaled pass)
    budget_s: float | None = None  # soft time budget for the up-scaled pass (see finder.find_raw)
    landmarks: str | None = None  # a backend name, or None for the first available
    models_dir: str | None = None  # one folder instead of the search path (tests, --models)
    finders: tuple[str, ...] | None = None  # finder names; None: every available one
    plugins: tuple[str, ...] = ()  # modules imported first (they register finders; see finders/)
    search_path: tuple[str, ...] | None = None  # None: core.search_path's default
    # the up-scaled small-face pass: "guided" looks only around the learned finder's small proposals
    # (detect/guide.py; that pass 2.4-3.7x cheaper at the same recall, benchmarks/speed_bench.py), "full"
    # over the whole image (the pipeline before; also what runs when no learned finder model is found).
    # "guided" also keeps the half-size pass to windows around the large proposals (GuideOptions).
    small_faces: str = "guided"
    verify: bool = True  # re-score candidates with the first verifier on the search path (a project's own)

    def __post_init__(self) -> None:
        if self.small_faces not in SMALL_FACE_PASSES:
            raise ValueError(f"small_faces must be one of {', '.join(SMALL_FACE_PASSES)}, got {self.small_faces!r}")

    def folders(self) -> list[Path]:
        if self.models_dir:
            return [Path(self.models_dir)]
        if self.search_path is not None:
            return [Path(p) for p in self.search_path]
        return model_search_path()


@dataclass(frozen=True)
class _Finder:
    """A loaded finder with what the analysis needs of it."""

    name: str
    find: Detector
    tiled: bool
    model: ModelFile | None
    calibration: HitCalibration


@dataclass(frozen=True)
class Candidate:
    hit: FinderHit
    fit: TemplateFit
    frame: FaceFrame
    score: float
    finder: str = "animeface"
    model: ModelFile | None = None
    features: Features = ()
    # the animeface hit whose box the landmark model crops and whose parts the template fit takes, when
    # not this candidate's own (landmark_view): a learned finder's face or a box the verifier moved
    view: FinderHit | None = None

    @property
    def landmark_box(self) -> Box:
        return self.view.box if self.view is not None else self.hit.box

    @property
    def landmark_parts(self) -> Parts:
        return self.view.parts if self.view is not None else self.hit.parts


@dataclass
class Analysis:
    faces: list[Face]
    notes: list[str]
    landmark_backend: str
    detector_colors: list[Colors]  # the finder's own colours of each face, for comparison
    finders: tuple[str, ...] = ()


class Analyzer:
    """Holds what one process loads once: the face model, the finders, the landmark backend."""

    def __init__(self, options: AnalyzeOptions, detect: Detector | None = None) -> None:
        self.options = options
        self.model: FaceModel = load_face_model()
        folders = options.folders()
        load_plugins(options.plugins)
        self.finders: list[_Finder] = []
        for finder in load_finders(choose_finders(options.finders, folders), folders):
            self.finders.append(_Finder(finder.name, finder.find, getattr(finder, "tiled", True),
                                        finder.model_file(), calibration_for(finder, folders)))
        if detect is not None:  # a test's detector in animeface's place (its calibration is kept)
            base = next(f for f in self.finders if f.name == "animeface")
            self.finders = [_Finder(base.name, detect, True, base.model, base.calibration)]
        self.landmarks: LandmarkBackend
        self.landmarks, self.landmark_note = load_backend(folders, options.landmarks)  # note: a fallback
        # per image domain (anime's is loaded above); another domain's is loaded on its first image
        self._landmarks_by_domain: dict[str, tuple[LandmarkBackend, str | None]] = {
            "anime": (self.landmarks, self.landmark_note)}
        chosen = choose_sex_backend(folders)
        self.sex, self.sex_notes = chosen.backend, chosen.notes
        chosen_verifier = choose_verifier(folders) if options.verify else ChosenVerifier(None)
        self.verifier, self.verifier_notes = chosen_verifier.verifier, chosen_verifier.notes
        self.guide = _load_guide(options.small_faces, folders)
        self.guide_options = GuideOptions()

    def landmarks_for(self, domain: str) -> tuple[LandmarkBackend, str | None]:
        """The landmark backend for images of `domain` (the registry filters on it) and its fallback note."""
        if domain not in self._landmarks_by_domain:
            self._landmarks_by_domain[domain] = load_backend(self.options.folders(), self.options.landmarks, domain)
        return self._landmarks_by_domain[domain]

    def _finder(self, name: str) -> _Finder:
        return next(f for f in self.finders if f.name == name)

    def candidates(self, pixels: np.ndarray, hits: list[FinderHit], finder: str | None = None) -> list[Candidate]:
        """Every hit of one finder (default: the first), scored by that finder's calibration. The template
        fit done here for the geometry check is reused for landmarks."""
        f = self._finder(finder) if finder else self.finders[0]
        out = []
        for hit in hits:
            fit = fit_template(self.model, hit.box, hit.parts)
            frame = face_frame(fit.points, self.model.mean)
            score, feats = f.calibration.score_hit(hit, pixels, frame, fit.cost)
            out.append(Candidate(hit, fit, frame, score, f.name, f.model, feats))
        return out

    def analyze(self, pixels: np.ndarray, threshold: float | None = None, domain: str = "anime") -> Analysis:
        """Faces on one image of `domain` (core.models.Domain value): only the finders and the landmark
        backend serving that domain run (photo finder on human photos, animeface/learned on anime)."""
        threshold = self.options.threshold if threshold is None else threshold
        pixels = np.ascontiguousarray(pixels[:, :, :3])
        landmarks, landmark_note = self.landmarks_for(domain)
        notes = [landmark_note] if landmark_note else []  # a landmark fallback, if any
        finders = self.finders_for(domain)
        if not finders:
            notes.append(f"no face finder for {domain} images among those chosen "
                         f"({', '.join(f.name for f in self.finders)})")
        scored = self.scored_candidates(pixels, finders, notes)
        if domain == "anime":  # the verifier learned drawn faces; photos keep their finder's score
            scored = self.verified(pixels, scored)
            notes.extend(self.verifier_notes)
        kept = nms(scored, lambda c: c.hit.box, lambda c: c.score)  # across finders: one face, one box
        kept = [c for c in kept if c.score >= threshold]
        if domain == "anime" and self.verifier is not None:  # measured on verified candidates only
            kept = voted(kept, scored)
        if domain == "anime":
            kept = [landmark_view(pixels, c) for c in kept]
        kept = [self.refitted(c) for c in kept]
        faces = [self.finish(pixels, c, landmarks) for c in kept]
        if domain == "anime":  # the sex classifier and its size prior are for characters, not photos
            faces = self.with_sex(pixels, kept, faces)
            notes.extend(self.sex_notes)
        elif finders and not faces:  # a photo is meant to show a face: say so, the run goes on
            notes.append(f"no face found in this {domain} photo ({', '.join(f.name for f in finders)})")
        return Analysis(faces, notes, landmarks.name, [c.hit.colors for c in kept],
                        tuple(f.name for f in finders))

    def finders_for(self, domain: str) -> list[_Finder]:
        names = finders_for_domain([f.name for f in self.finders], domain)
        return [f for f in self.finders if f.name in names]

    def scored_candidates(self, pixels: np.ndarray, finders: list[_Finder], notes: list[str]) -> list[Candidate]:
        """Every candidate of ``finders`` on ``pixels`` (H×W×3), calibrated per finder: what the verifier
        and the NMS get (the verifier's map is fitted on exactly these, verifiers/project.py)."""
        scored: list[Candidate] = []
        windows = coarse = None
        if self.guide is not None and any(f.tiled for f in finders):
            proposals = self.guide.find_boxes(pixels, threshold=self.guide_options.min_score)
            windows = proposal_windows(proposals, pixels.shape[1], pixels.shape[0], self.guide_options)
            coarse = coarse_windows(proposals, pixels.shape[1], pixels.shape[0], self.guide_options)
        for f in finders:
            if f.tiled:
                found = find_raw(pixels, min_face_px=self.options.min_face_px, budget_s=self.options.budget_s,
                                 detect=f.find, small_windows=windows, coarse_windows=coarse)
            else:
                found = find_whole(pixels, f.find)
            if found.skipped_tiles:
                notes.append(f"small-face pass skipped on {found.skipped_tiles} of {found.tiles} tiles "
                             f"(time budget; {f.name})")
            scored.extend(self.candidates(pixels, found.hits, f.name))
        return scored

    def verified(self, pixels: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        """Each candidate re-scored by the verifier (none loaded: as they are) and, when it refines, moved
        onto the face its crop shows (verifiers/refine.py). The features keep the verifier's p, the score
        before it, the IoU of the finder's box with the refined one, and the finder's own score as the
        project calibration's base_score when no project map put it there already (so `f2a calibrate`
        fits on the same scale)."""
        from f2a_studio.detect.finders.project_calibration import BASE_FEATURE

        if self.verifier is None or not candidates:
            return candidates
        given = [c.hit.box.to_list() for c in candidates]
        verdict = self.verifier.verify(pixels, given)
        out = []
        for c, p, box, old in zip(candidates, verdict.p_face, verdict.boxes, given, strict=True):
            named = dict(c.features)
            extra = [] if BASE_FEATURE in named else [(BASE_FEATURE, float(c.score))]
            extra += [(UNVERIFIED_FEATURE, float(c.score)), (VERIFIER_FEATURE, round(float(p), 6))]
            hit = c.hit
            if self.verifier.refines:
                hit = replace(hit, box=Box(*(round(float(v), 2) for v in box)))
                extra.append((REFINED_FEATURE, round(hit.box.iou(Box(*old)), 4)))
            out.append(replace(c, hit=hit, score=self.verifier.rescore(float(p), c.score),
                               features=(*c.features, *extra)))
        return out

    def refitted(self, c: Candidate) -> Candidate:
        """A candidate whose box the verifier or the vote moved, or that has an animeface view, gets its template fit
        again on its box with the parts it will be fitted with (the landmarks, sex prior and pose start from
        it); others as they are."""
        named = dict(c.features)
        if REFINED_FEATURE not in named and VOTED_FEATURE not in named and c.view is None:
            return c
        fit = fit_template(self.model, c.hit.box, c.landmark_parts)
        return replace(c, fit=fit, frame=face_frame(fit.points, self.model.mean))

    def with_sex(self, pixels: np.ndarray, kept: list[Candidate], faces: list[Face]) -> list[Face]:
        """Predicted sex on each face (marked predicted: a detector's face has no human field), and the
        landmarks fitted again with it as the prior (big-eyed female faces are drawn smaller)."""
        from f2a_studio.detect.refit import sex_prior

        out = []
        for c, face, pred in zip(kept, faces, self.sex.predict_many(pixels, faces), strict=True):
            labelled = apply_prediction(face, pred)
            if pred is None or self.sex.name == "template":  # the template's p(female) is the fit's own
                out.append(labelled)
                continue
            fit = fit_template(self.model, c.hit.box, c.landmark_parts, sex_prior(labelled.sex, labelled.sex_prob))
            refitted = self.finish(pixels, replace(c, fit=fit))
            out.append(replace(refitted, sex=labelled.sex, sex_prob=labelled.sex_prob))
        return out

    def finish(self, pixels: np.ndarray, c: Candidate, landmarks: LandmarkBackend | None = None) -> Face:
        h, w = pixels.shape[:2]
        box = c.hit.box.clipped(w, h)
        landmarks = landmarks or self.landmarks
        if landmarks.name == "template":
            points, confidence, p_female = c.fit.points, None, c.fit.p_female
        else:
            result = landmarks.predict(pixels, c.landmark_box, c.landmark_parts, c.fit.p_female)
            points, confidence, p_female = result.points, result.confidence, c.fit.p_female
        colors = estimate_colors(pixels, c.hit.box, c.hit.parts, points, self.model.mean, c.hit.colors)
        vis = visibility(points, pixels, colors, confidence)
        shape = self.model.female.points if p_female >= 0.5 else self.model.male.points
        pose = estimate_pose(points, shape, visible=vis > 0) or Pose(c.fit.yaw, c.fit.pitch, c.fit.roll)
        landmarks = tuple((float(x), float(y), int(v)) for (x, y), v in zip(points, vis, strict=True))
        return Face(
            image_id=0,
            box=Box(round(box.x, 2), round(box.y, 2), round(box.w, 2), round(box.h, 2)),
            score=round(min(1.0, max(0.0, c.score)), 4),
            source=FaceSource.DETECTOR,
            colors=colors,
            parts=c.hit.parts,
            landmarks=landmarks,
            pose=pose,
            finder=c.finder,
            finder_model=c.model.name if c.model else "",
            finder_sha256=c.model.sha256 if c.model else "",
            raw_score=round(float(c.hit.raw_score), 6),
            score_features=c.features,
        )


def voted(kept: list[Candidate], candidates: list[Candidate]) -> list[Candidate]:
    """Each kept candidate's box placed by box voting among all ``candidates`` (nms.voted_boxes); a box
    that moved records by how much (VOTED_FEATURE), and its template is fitted again on it (refitted)."""
    out = []
    for c, b in zip(kept, voted_boxes(kept, candidates, lambda c: c.hit.box, lambda c: c.score), strict=True):
        if b == c.hit.box:  # the vote left it where it was
            out.append(c)
            continue
        b = Box(*(round(v, 2) for v in b.to_list()))
        overlap = round(b.iou(c.hit.box), 4)
        out.append(replace(c, hit=replace(c.hit, box=b), features=(*c.features, (VOTED_FEATURE, overlap))))
    return out


def landmark_view(pixels: np.ndarray, c: Candidate) -> Candidate:
    """``c`` with the animeface view its landmarks are fitted from (detect/landmark_box.animeface_view):
    none for an animeface face as found (its own box and parts), else animeface run on a window around
    the box. A learned finder's box and a box the verifier moved are drawn like a person's, around the
    head, and the landmark model crops a detector's face better: on the devset's point-labelled faces the
    shipped model scores 0.221 NME on the shipped learned finder's boxes and 0.186 on animeface's in the
    window around them (20 of 46 viewed, 15 better; the pipeline's own tile proposals: 0.210 -> 0.200)."""
    if has_parts(c.hit.parts) and REFINED_FEATURE not in dict(c.features):
        return c
    view = animeface_view(pixels, c.hit.box)
    return c if view is None else replace(c, view=view)


def _load_guide(small_faces: str, folders: list[Path]):
    """The learned finder that tells the small-face pass where to look (its own instance: it proposes
    windows even where it is not one of the chosen finders), or None for the full pass (asked for, or no
    learned finder model on the search path)."""
    if small_faces != "guided":
        return None
    from f2a_studio.detect.finders import FINDERS

    cls = FINDERS.get("learned")
    if cls is None or not cls.available(folders):
        return None
    guide = cls(folders)
    guide.load()
    return guide

