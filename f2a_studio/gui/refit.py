"""Landmarks and pose fitted to a face's box off the GUI thread (detect.refit, the template fit).

A request names a face and the sex to use as prior; one worker thread reads the cut and fits; the result
comes back to the GUI thread as a queued signal. Whoever asked applies it only when the face still has the
box and sex the fit was made for (a later edit wins). Points a person placed (`human_points`) stay put.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from f2a_studio.core.models import Box, Domain, Face, Landmark, Pose, Sex


@dataclass(frozen=True)
class Refit:
    face_id: int
    box: Box  # the box it was fitted to
    sex: Sex  # the prior it used
    landmarks: tuple[Landmark, ...]
    pose: Pose | None
    purpose: str  # what asked: "drawn", "sex", "action"

    def applies_to(self, face: Face) -> bool:
        return face.box == self.box and face.sex is self.sex

    def merged(self, face: Face) -> tuple[Landmark, ...]:
        """The fitted points, except those a person placed."""
        if len(face.landmarks) != len(self.landmarks):
            return self.landmarks
        return tuple(face.landmarks[i] if i in face.human_points else p for i, p in enumerate(self.landmarks))


class Refitter(QObject):
    fitted = Signal(object)  # Refit, on the GUI thread
    failed = Signal(str)  # message, on the GUI thread
    _arrived = Signal(object)  # (Refit | None, error | None), from the worker thread: queued to ours

    def __init__(self, session, parent: QObject | None = None) -> None:  # session: gui.session.Session
        super().__init__(parent)
        self.session = session
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="f2a-refit")
        self._pixels: tuple[int, np.ndarray] | None = None  # the last cut read (one image id)
        self._outstanding = 0  # requested and not yet handed to `fitted`/`failed` (GUI thread only)
        self._closed = False
        self._arrived.connect(self._deliver)

    def request(self, face: Face, sex: Sex | None = None, purpose: str = "action") -> Future | None:
        if self._closed:
            return None
        assert face.id is not None
        record = self.session.reads.image(face.image_id)
        path = self.session.reads.cut_file(record)
        future = self._pool.submit(self._fit, face, sex or face.sex, purpose, record.id, str(path), record.domain)
        self._outstanding += 1
        future.add_done_callback(self._done)
        return future

    def _fit(self, face: Face, sex: Sex, purpose: str, image_id: int, path: str,
             domain: Domain = Domain.ANIME) -> Refit:
        from f2a_studio.core.imageio import flatten_alpha, read_image
        from f2a_studio.detect.refit import refit_face

        if self._pixels is None or self._pixels[0] != image_id:
            pixels = read_image(path)
            if pixels.ndim == 3 and pixels.shape[2] == 4:
                pixels = flatten_alpha(pixels)
            self._pixels = (image_id, pixels)
        from f2a_studio.core.search_path import model_search_path

        # the project's checkpoints first: once trained, its landmark model and sex classifier fit here too
        fitted = refit_face(self._pixels[1], face, sex, model_search_path(self.session.reads.root), domain)
        assert face.id is not None
        return Refit(face.id, face.box, Sex(sex), fitted.landmarks, fitted.pose, purpose)

    def _done(self, future: Future) -> None:  # on the worker thread: hand over through a queued signal
        if future.cancelled():
            self._arrived.emit((None, None))
            return
        exc = future.exception()
        if exc is not None:
            self._arrived.emit((None, f"refitting landmarks failed: {type(exc).__name__}: {exc}"))
        else:
            self._arrived.emit((future.result(), None))

    def _deliver(self, item: tuple) -> None:
        self._outstanding = max(0, self._outstanding - 1)
        refit, error = item
        if self._closed:
            return  # the project closed meanwhile
        if error is not None:
            self.failed.emit(error)
        elif refit is not None:
            self.fitted.emit(refit)

    def idle(self) -> bool:
        """Nothing requested is still to come (the tests wait on this; so could a "busy" indicator)."""
        return self._outstanding == 0

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
