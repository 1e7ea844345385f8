"""Deterministic synthetic datasets: titles with a recurring cast, episodes as strips, written to disk.

The same ``seed`` gives byte-identical images: every strip draws from its own generator seeded with
``(seed, title index, episode)``, so a strip does not depend on how many strips were asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from f2a_studio.synth.face import Character, sample_character
from f2a_studio.synth.strip import Strip, make_strip

TITLE_ID_BASE = 900001  # synthetic title ids; real NAVER title ids are 6 digits too


@dataclass
class SampleStrip:
    title_id: int
    episode: int
    strip: Strip

    @property
    def name(self) -> str:
        """``<titleId>_<episode>``; the importer appends ``_cut_<NNN>`` per cut."""
        return f"{self.title_id}_{self.episode}"

    def truth_json(self) -> dict[str, Any]:
        return {
            "title_id": self.title_id,
            "episode": self.episode,
            "width": self.strip.width,
            "height": self.strip.height,
            "gutter": list(self.strip.gutter),
            "panel_boxes": [list(b) for b in self.strip.panel_boxes],
            "faces": [f.to_json() for f in self.strip.faces],
        }


def title_cast(seed: int, title: int) -> list[Character]:
    rng = np.random.default_rng([seed, title, 0])
    n = int(rng.integers(2, 6))
    return [sample_character(rng) for _ in range(n)]


def iter_dataset(
    seed: int,
    n_strips: int,
    width: int = 690,
    n_panels: int | None = None,
    episodes_per_title: int = 3,
) -> Iterator[SampleStrip]:
    """Yield ``n_strips`` strips: titles of ``episodes_per_title`` episodes each, one cast per title."""
    casts: dict[int, list[Character]] = {}
    for i in range(n_strips):
        title, episode = divmod(i, max(1, episodes_per_title))
        if title not in casts:
            casts[title] = title_cast(seed, title)
        rng = np.random.default_rng([seed, title, episode + 1])
        strip = make_strip(rng, width=width, n_panels=n_panels, cast=casts[title])
        yield SampleStrip(TITLE_ID_BASE + title, episode + 1, strip)


def make_dataset(
    seed: int,
    n_strips: int,
    width: int = 690,
    n_panels: int | None = None,
    episodes_per_title: int = 3,
) -> list[SampleStrip]:
    """All of :func:`iter_dataset` as a list (mind the memory: a strip is about 10 MB)."""
    return list(iter_dataset(seed, n_strips, width, n_panels, episodes_per_title))


def write_sample(item: SampleStrip, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``NAME.png`` and ``NAME.json`` (the truth) into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{item.name}.png"
    js = out / f"{item.name}.json"
    tmp_png = png.with_suffix(".png.tmp")
    Image.fromarray(item.strip.image).save(tmp_png, format="PNG", compress_level=6)
    tmp_png.replace(png)
    tmp_js = js.with_suffix(".json.tmp")
    tmp_js.write_text(json.dumps(item.truth_json(), indent=1), encoding="utf-8")
    tmp_js.replace(js)
    return png, js


def write_dataset(
    seed: int, n_strips: int, out_dir: str | Path, width: int = 690, n_panels: int | None = None
) -> list[Path]:
    """Generate and write a dataset strip by strip (constant memory); returns the PNG paths."""
    return [write_sample(item, out_dir)[0] for item in iter_dataset(seed, n_strips, width, n_panels)]
