"""The learned finder's page-look augmentation (TrainConfig.real_look): it changes the pixels of the crops,
never where the faces are, and leaves the crops exactly as before when it is off."""

from __future__ import annotations

import numpy as np
import pytest

from f2a_studio.detect.finders.learned_train import Sample, TrainConfig, make_batch
from f2a_studio.synth.scene import make_panel


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    out = []
    for i in range(3):
        panel = make_panel(np.random.default_rng([7, i]), 420, 360, style="anime")
        out.append(Sample(panel.image, np.array([f.box for f in panel.faces], np.float64).reshape(-1, 4)))
    return out


def test_page_look_changes_pixels_not_targets_and_off_is_unchanged(samples: list[Sample]) -> None:
    plain_x, plain_t = make_batch(samples, 3, TrainConfig(batch=6, seed=1))
    again_x, _ = make_batch(samples, 3, TrainConfig(batch=6, seed=1, real_look=0.0))
    assert np.array_equal(plain_x.numpy(), again_x.numpy())  # off: no draw made, the same crops
    look_x, look_t = make_batch(samples, 3, TrainConfig(batch=6, seed=1, real_look=1.0))
    assert look_x.shape == plain_x.shape and look_x.dtype == plain_x.dtype
    assert float(look_x.min()) >= 0.0 and float(look_x.max()) <= 1.0
    # the first crop's geometry is drawn before the look: same place, same faces, other pixels
    for key in ("heat", "reg", "mask"):
        assert np.array_equal(look_t[key][0].numpy(), plain_t[key][0].numpy()), key
    assert float((look_x[0] - plain_x[0]).abs().mean()) > 0.01
    repeat_x, _ = make_batch(samples, 3, TrainConfig(batch=6, seed=1, real_look=1.0))
    assert np.array_equal(look_x.numpy(), repeat_x.numpy())  # deterministic for a seed and step


def test_a_look_share_outside_0_1_is_named() -> None:
    with pytest.raises(ValueError, match="real_look"):
        TrainConfig(real_look=1.5)
