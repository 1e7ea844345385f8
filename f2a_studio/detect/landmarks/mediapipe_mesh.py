"""MediaPipe Face Mesh on human face photos (``name = "mediapipe"``): 468 points, mapped to the 68 iBUG ones.

The model (``mediapipe/modules/face_landmark/face_landmark.tflite``, Apache-2.0, with the short-range
BlazeFace detector beside it) ships inside the mediapipe wheel up to 0.10.21; later wheels (1.x) carry no
models and fetch them at run time, which this project never does, so `available` checks that the model
file is really inside the installed package. Install it without its declared dependencies (they pull
opencv-contrib-python, a second OpenCV with its own Qt, and numpy<2): see the `human` extra in
pyproject.toml and models/README.md.

A box comes in (from the photo finder); the photo is cropped around it with a margin, the mesh runs on
the crop and the points go back to image pixels. When the mesh finds no face in the crop, the mean face
placed in the box is returned with zero confidence, so the face still gets landmarks and is flagged.
Human-domain only (``domains``): on anime faces the mesh is a human model and draws them wrong.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from f2a_studio.core.errors import F2AError
from f2a_studio.core.models import Box, Parts
from f2a_studio.detect.face_model import FaceModel, load_face_model
from f2a_studio.detect.landmarks.base import LandmarkResult
from f2a_studio.detect.landmarks.template_fit import place_by_box

MODEL_RELPATH = ("modules", "face_landmark", "face_landmark.tflite")
INSTALL_HINT = ("pip install --no-deps mediapipe==0.10.21 && pip install 'f2a-studio[human]' "
                "(mediapipe's own dependencies would pull opencv-contrib-python, which breaks PySide6)")
CROP_MARGIN = 0.6  # of the box size on each side: the mesh's own detector needs the whole head in view

# iBUG-68 index → Face Mesh indices (averaged when two). "Left" is image-left, as in iBUG: the mesh's
# subject-right points (33, 133, 234 …) lie on the image's left in an unmirrored photo.
MESH_TO_IBUG: tuple[tuple[int, ...], ...] = (
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),  # jaw 0–8
    (400,), (379,), (365,), (397, 288), (361,), (323,), (454,), (356,),  # jaw 9–16
    (70,), (63,), (105,), (66,), (107,),  # image-left brow 17–21
    (336,), (296,), (334,), (293,), (300,),  # image-right brow 22–26
    (168, 6), (197, 195), (5,), (4,),  # nose bridge 27–30
    (75,), (97,), (2,), (326,), (305,),  # nostrils 31–35
    (33,), (160,), (158,), (133,), (153,), (144,),  # image-left eye 36–41
    (362,), (385,), (387,), (263,), (373,), (380,),  # image-right eye 42–47
    (61,), (39,), (37,), (0,), (267,), (269,), (291,), (321,), (314,), (17,), (84,), (91,),  # outer lip 48–59
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),  # inner lip 60–67
)


def model_file() -> Path | None:
    """The face-mesh model inside the installed mediapipe, found without importing it (a slow import)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder).joinpath(*MODEL_RELPATH)
        if path.is_file():
            return path
    return None


def mesh_to_ibug(mesh: np.ndarray) -> np.ndarray:
    """(468+, 2) mesh points → (68, 2) iBUG points."""
    return np.array([mesh[list(idx), :2].mean(axis=0) for idx in MESH_TO_IBUG], dtype=np.float64)


class MediaPipeBackend:
    name = "mediapipe"
    domains = ("human",)

    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self.mesh = None
        self.model: FaceModel | None = None

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return model_file() is not None

    @classmethod
    def problem(cls) -> str:
        return f"MediaPipe's face mesh model is not installed (mediapipe ≤ 0.10.21 ships it): {INSTALL_HINT}"

    def load(self) -> None:
        if model_file() is None:
            raise F2AError(self.problem())
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:  # installed with --no-deps and one of its real needs missing
            raise F2AError(f"mediapipe is installed but cannot be imported ({exc}): {INSTALL_HINT}") from exc
        self.mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                       min_detection_confidence=0.3)
        self.model = load_face_model()

    def predict(self, pixels: np.ndarray, box: Box, parts: Parts, p_female: float = 0.5) -> LandmarkResult:
        if self.mesh is None:
            self.load()
        assert self.mesh is not None and self.model is not None
        h, w = pixels.shape[:2]
        m = CROP_MARGIN * max(box.w, box.h)
        x0, y0 = int(max(0, box.x - m)), int(max(0, box.y - m))
        x1, y1 = int(min(w, box.x + box.w + m)), int(min(h, box.y + box.h + m))
        crop = np.ascontiguousarray(pixels[y0:y1, x0:x1, :3])
        found = self.mesh.process(crop).multi_face_landmarks if crop.size else None
        if not found:
            return LandmarkResult(place_by_box(self.model, box), "template", np.zeros(68), p_female, None)
        mesh = np.array([(p.x * crop.shape[1] + x0, p.y * crop.shape[0] + y0) for p in found[0].landmark])
        points = mesh_to_ibug(mesh)
        if not np.isfinite(points).all():
            raise F2AError("the face mesh produced non-finite landmarks")
        return LandmarkResult(points, self.name, np.ones(68), p_female, None)

    def unload(self) -> None:
        if self.mesh is not None:
            self.mesh.close()
        self.mesh = None
