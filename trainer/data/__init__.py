"""Datasets over F2A exports: checked up front (trainer/data/layout.py), augmented with one seeded parameter
draw per pair (augment.py), iterated by a resumable, rank-aware sampler (sampler.py)."""

from trainer.data.datasets import PairedDataset, UnpairedDataset, make_dataset
from trainer.data.layout import DataError, ExportLayout, check_export
from trainer.data.sampler import ResumableSampler

__all__ = ["DataError", "ExportLayout", "PairedDataset", "ResumableSampler", "UnpairedDataset", "check_export",
           "make_dataset"]
