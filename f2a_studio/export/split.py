"""Deterministic train/val/test split by episode (or by title), so no episode lands in two splits.

Groups are put in a seeded order (sha256 of seed and group name: independent of how the project was
filled) and handed out in that order, filling train, then val, then test by face count to the ratios.
When there are at least as many groups as non-empty splits, every split with a ratio above zero gets
at least one group.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

from f2a_studio.core.errors import ValidationError

SPLITS = ("train", "val", "test")
SPLIT_BY = ("episode", "title")


@dataclass(frozen=True)
class SplitPlan:
    by_group: dict[str, str]  # group → split

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {s: [] for s in SPLITS}
        for group, split in sorted(self.by_group.items()):
            out[split].append(group)
        return out


def check_ratios(ratios: tuple[float, float, float] | list[float]) -> tuple[float, float, float]:
    values = tuple(float(r) for r in ratios)
    if len(values) != 3 or any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
        raise ValidationError(f"split ratios must be three non-negative numbers train,val,test, got {list(ratios)}")
    total = sum(values)
    return (values[0] / total, values[1] / total, values[2] / total)


def group_order(groups: list[str], seed: int) -> list[str]:
    def key(group: str) -> str:
        return hashlib.sha256(f"f2a-split:{seed}:{group}".encode()).hexdigest()

    return sorted(groups, key=lambda g: (key(g), g))


def assign_splits(counts: Mapping[str, int], ratios: tuple[float, float, float], seed: int) -> SplitPlan:
    """`counts`: faces per group. Returns the split of every group."""
    ratios = check_ratios(ratios)
    order = group_order(list(counts), seed)
    total = sum(counts.values())
    bounds = (ratios[0], ratios[0] + ratios[1])
    by_group: dict[str, str] = {}
    done = 0
    for group in order:
        # where the middle of this group falls decides its split: large groups do not overshoot
        middle = (done + counts[group] / 2) / total if total else 0.0
        by_group[group] = SPLITS[0] if middle < bounds[0] else SPLITS[1] if middle < bounds[1] else SPLITS[2]
        done += counts[group]
    _ensure_nonempty(by_group, order, ratios)
    return SplitPlan(by_group)


def _ensure_nonempty(by_group: dict[str, str], order: list[str], ratios: tuple[float, float, float]) -> None:
    wanted = [s for s, r in zip(SPLITS, ratios, strict=True) if r > 0]
    if len(order) < len(wanted):
        return
    for split in reversed(wanted):  # test first, then val, taken from the end of the order
        if split in by_group.values():
            continue
        for group in reversed(order):
            donor = by_group[group]
            if donor != split and list(by_group.values()).count(donor) > 1:
                by_group[group] = split
                break
