"""New predictions for the unreviewed faces of a project's cuts, never touching what a person set: sex
when its classifier was retrained, landmarks when their model was (or when the predicted sex, the
landmark fit's prior, changed). Used by the studio's retrain job (gui/learn/retrain.py) and by
`f2a detect` after it adapted the landmark model to the project (detect/landmarks/auto_adapt.py).

Each face is written on its own with actor "model", checking its revision: a face a person edits
meanwhile wins (StaleEditError: skipped). Plain Python, no Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from f2a_studio.core.errors import StaleEditError
from f2a_studio.core.jobs import CancelToken
from f2a_studio.core.models import Domain, FaceStatus
from f2a_studio.core.store import ProjectStore

ProgressFn = Callable[[int, int, str], None]


@dataclass
class Repredicted:
    changed: list[int] = field(default_factory=list)  # face ids whose predictions changed
    kept_human: int = 0  # unreviewed faces whose human-set fields were left alone


def repredict_faces(store: ProjectStore, image_ids: Sequence[int], progress: ProgressFn | None = None,
                    cancel: CancelToken | None = None, *, sex: bool = True, landmarks: bool = True) -> Repredicted:
    """Re-predict the unreviewed faces of these cuts, except the fields a person set: sex when `sex`,
    landmarks when `landmarks` or when the predicted sex changed. A cancel raises JobCancelled between
    faces; what was written stays (one transaction per face)."""
    from f2a_studio.core.imageio import load_image
    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.refit import predict_sex, refit_face

    cancel = cancel or CancelToken()
    done = Repredicted()
    path = model_search_path(store.root)
    for k, image_id in enumerate(image_ids):
        cancel.raise_if_cancelled()
        faces = [f for f in store.faces(image_id) if f.status is FaceStatus.UNREVIEWED]
        if faces:
            record = store.image(image_id)
            pixels = load_image(store.cut_file(record)).pixels[:, :, :3]
        for face in faces:
            cancel.raise_if_cancelled()
            # the sex classifier is for characters: a photo's face (domain human) keeps its sex, as in detection
            anime = record.domain is Domain.ANIME
            new = predict_sex(pixels, face, path) if sex and anime and "sex" not in face.human_fields else face
            prior_changed = (new.sex, new.sex_prob) != (face.sex, face.sex_prob)
            if (landmarks or prior_changed) and "landmarks" not in face.human_fields:
                fitted = refit_face(pixels, new, None, path, record.domain)
                new = replace(new, landmarks=fitted.landmarks, pose=fitted.pose)
            if face.human_fields:
                done.kept_human += 1
            if (new.sex, new.sex_prob, new.landmarks, new.pose) == (face.sex, face.sex_prob, face.landmarks,
                                                                     face.pose):
                continue
            try:
                store.update_face(new, actor="model")  # checks the revision: a person's edit meanwhile wins
            except StaleEditError:
                continue
            assert face.id is not None
            done.changed.append(face.id)
        if progress is not None:
            progress(k + 1, len(image_ids), f"re-predicting faces ({k + 1}/{len(image_ids)} cuts)")
    return done
