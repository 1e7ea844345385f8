"""Decoded cuts, kept within a byte budget (least recently used out first), decoded off the GUI thread.

Each entry holds the cut as 32-bit QImages at full size and at halvings down to ~1k px (a mip chain),
so painting a tall strip zoomed out never resamples 64 MB per frame. A file that is missing or corrupt
becomes an entry with an `error` (and no pixels): the canvas shows a placeholder, nothing crashes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from f2a_studio.core.errors import ImageError
from f2a_studio.core.imageio import read_image

DEFAULT_LIMIT_MB = 768
MIP_FLOOR = 1024  # stop halving below this many pixels on the long side


def default_limit_bytes() -> int:
    value = os.environ.get("F2A_IMAGE_CACHE_MB", "")
    return (int(value) if value.isdigit() else DEFAULT_LIMIT_MB) * 1024 * 1024


@dataclass
class CachedImage:
    image_id: int
    path: Path
    levels: list[QImage] = field(default_factory=list)  # [full, 1/2, 1/4, ...]
    error: str | None = None
    _buffers: list[np.ndarray] = field(default_factory=list, repr=False)  # QImages borrow these bytes

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self._buffers) + 512

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.levels)


def decode_cut(image_id: int, path: Path) -> CachedImage:
    """Read a stored cut into a mip chain of Format_RGB32 images; any bad file becomes `error`."""
    try:
        rgb = read_image(path)
    except ImageError as exc:
        return CachedImage(image_id, path, error=exc.reason)
    except (OSError, ValueError, cv2.error) as exc:
        return CachedImage(image_id, path, error=f"cannot decode: {exc}")
    level = np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA))  # BGRA bytes == QImage RGB32 (LE)
    buffers = [level]
    while max(level.shape[:2]) > MIP_FLOOR:
        h, w = level.shape[:2]
        level = cv2.resize(level, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        buffers.append(level)
    images = [
        QImage(b.data, b.shape[1], b.shape[0], b.strides[0], QImage.Format.Format_RGB32) for b in buffers
    ]
    return CachedImage(image_id, path, levels=images, _buffers=buffers)


class ImageCache(QObject):
    loaded = Signal(int)  # image id, emitted on the GUI thread when a background decode lands

    def __init__(self, limit_bytes: int | None = None, parent: QObject | None = None, workers: int = 2) -> None:
        super().__init__(parent)
        self.limit_bytes = default_limit_bytes() if limit_bytes is None else limit_bytes
        self._entries: OrderedDict[int, CachedImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="f2a-decode")

    # ------------------------------------------------------------ queries

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, image_id: int) -> CachedImage | None:
        with self._lock:
            entry = self._entries.get(image_id)
            if entry is not None:
                self._entries.move_to_end(image_id)
            return entry

    # ------------------------------------------------------------ loading

    def load_now(self, image_id: int, path: Path) -> CachedImage:
        """Decode on the calling thread (screenshots, tests), or return the cached entry."""
        entry = self.get(image_id)
        if entry is None:
            with self._lock:
                future = self._pending.get(image_id)
            entry = future.result() if future is not None else self._insert(decode_cut(image_id, path))
        return entry

    def request(self, image_id: int, path: Path) -> CachedImage | None:
        """The entry if cached; otherwise start a background decode (`loaded` fires) and return None."""
        entry = self.get(image_id)
        if entry is None:
            # Under the lock, so a fast decode cannot finish (and unregister) before it is registered.
            with self._lock:
                if image_id not in self._pending:
                    self._pending[image_id] = self._pool.submit(self._decode_in_background, image_id, path)
        return entry

    def prefetch(self, items: list[tuple[int, Path]]) -> None:
        for image_id, path in items:
            self.request(image_id, path)

    def invalidate(self, image_id: int) -> None:
        with self._lock:
            entry = self._entries.pop(image_id, None)
            if entry is not None:
                self._bytes -= entry.nbytes

    def wait_idle(self, timeout: float = 30.0) -> None:
        with self._lock:
            pending = list(self._pending.values())
        for future in pending:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _decode_in_background(self, image_id: int, path: Path) -> CachedImage:
        entry = self._insert(decode_cut(image_id, path))
        with self._lock:
            self._pending.pop(image_id, None)
        self.loaded.emit(image_id)  # queued to the GUI thread's receivers
        return entry

    def _insert(self, entry: CachedImage) -> CachedImage:
        with self._lock:
            old = self._entries.pop(entry.image_id, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[entry.image_id] = entry
            self._bytes += entry.nbytes
            # Evict least recently used, but never the entry just added (a cut bigger than the budget still shows).
            while self._bytes > self.limit_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes
        return entry
