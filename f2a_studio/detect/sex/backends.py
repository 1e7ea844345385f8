"""Sex backends: the learned classifier (files on the search path) and the template fit's p(female)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from f2a_studio.core.align import AlignmentError
from f2a_studio.core.models import Face
from f2a_studio.detect.cropnet import aligned_crop, file_sha256, load_model, model_paths

STEM = "sex-learned"


@dataclass(frozen=True)
class SexPrediction:
    p_female: float
    backend: str
    model: str = ""  # model file name ("" for the template)
    sha256: str = ""


class LearnedSexBackend:
    """The CNN of sex/net.py from one folder's ``sex-learned.safetensors`` + ``.json``."""

    name = "learned"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.net = None
        self.card: dict = {}
        self.sha256 = ""

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        from f2a_studio.detect.cropnet import model_folders

        return bool(model_folders(search_path, STEM))

    def load(self) -> None:
        from f2a_studio.detect.cropnet import ModelFileError
        from f2a_studio.detect.sex.net import ARCHITECTURE, SexNet, SexNetConfig

        state, card = load_model(self.folder, STEM, ARCHITECTURE)
        net = SexNet(SexNetConfig.from_json(card["net"]))
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelFileError(f"{model_paths(self.folder, STEM)[0]}: weights do not fit the card's network "
                                 f"({str(exc).splitlines()[0]})") from exc
        self.net, self.card = net.eval(), card
        self.sha256 = file_sha256(model_paths(self.folder, STEM)[0])

    def predict_many(self, pixels: np.ndarray, faces: Sequence[Face]) -> list[SexPrediction | None]:
        """One prediction per face (None where its landmarks do not give eyes and mouth)."""
        import torch

        if self.net is None:
            self.load()
        assert self.net is not None
        cfg = self.net.cfg
        crops, where = [], []
        for i, face in enumerate(faces):
            try:
                crops.append(aligned_crop(pixels, face.landmarks, cfg.size, cfg.margin))
                where.append(i)
            except AlignmentError:
                continue
        out: list[SexPrediction | None] = [None] * len(faces)
        if crops:
            from f2a_studio.detect.cropnet import to_tensor

            with torch.inference_mode():
                p = torch.sigmoid(self.net(to_tensor(crops))).numpy()
            for i, pi in zip(where, p, strict=True):
                out[i] = SexPrediction(float(pi), self.name, STEM + ".safetensors", self.sha256)
        return out

    def unload(self) -> None:
        self.net = None


class TemplateSexBackend:
    """p(female) from how well the female and the male mean face fit the detector's parts (always there;
    weak: 0.5 where the face has no parts)."""

    name = "template"

    def __init__(self, folder: Path | None = None) -> None:
        self.model = None

    @classmethod
    def available(cls, search_path: Sequence[Path]) -> bool:
        return True

    def load(self) -> None:
        from f2a_studio.detect.face_model import load_face_model

        self.model = load_face_model()

    def predict_many(self, pixels: np.ndarray, faces: Sequence[Face]) -> list[SexPrediction | None]:
        from f2a_studio.detect.landmarks.template_fit import fit_template

        if self.model is None:
            self.load()
        out: list[SexPrediction | None] = []
        for face in faces:
            parts = face.parts
            if all(getattr(parts, k) is None for k in ("left_eye", "right_eye", "mouth", "nose", "chin")):
                out.append(SexPrediction(0.5, self.name))
                continue
            p = fit_template(self.model, face.box, parts, 0.5).p_female
            out.append(SexPrediction(float(p) if math.isfinite(p) else 0.5, self.name))
        return out

    def unload(self) -> None:
        self.model = None
