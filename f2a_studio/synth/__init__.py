"""Procedural cartoon characters, panels and webtoon strips with exact ground truth.

Used for the sample project, tests, benchmarks and demo models. Everything is deterministic given a
``numpy.random.Generator``; nothing touches global random state. No Qt, no torch.
"""

from f2a_studio.synth.dataset import SampleStrip, iter_dataset, make_dataset, write_dataset, write_sample
from f2a_studio.synth.face import Character, draw_character, sample_character
from f2a_studio.synth.geometry import Pose
from f2a_studio.synth.scene import Panel, make_character_image, make_panel
from f2a_studio.synth.strip import Strip, make_strip
from f2a_studio.synth.truth import FaceTruth, truth_box

__all__ = [
    "Character",
    "FaceTruth",
    "Panel",
    "Pose",
    "SampleStrip",
    "Strip",
    "draw_character",
    "iter_dataset",
    "make_character_image",
    "make_dataset",
    "make_panel",
    "make_strip",
    "sample_character",
    "truth_box",
    "write_dataset",
    "write_sample",
]
