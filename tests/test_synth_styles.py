"""Drawing styles in synth: selectable by name, truth exact in each, the default look unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from f2a_studio.synth import make_character_image, make_panel, make_strip
from f2a_studio.synth.styles import DEFAULT_STYLE, STYLES, get_style, styled_character
from f2a_studio.synth.truth import truth_box


def test_default_style_draws_what_no_style_draws() -> None:
    a = make_strip(np.random.default_rng(5), n_panels=2)
    b = make_strip(np.random.default_rng(5), n_panels=2, style="anime")
    c = make_strip(np.random.default_rng(5), n_panels=2, style=DEFAULT_STYLE)
    assert a.image.tobytes() == b.image.tobytes() == c.image.tobytes()
    assert [f.to_json() for f in a.faces] == [f.to_json() for f in b.faces]


def test_at_least_two_clearly_different_styles() -> None:
    assert len(STYLES) >= 3
    images = {}
    for name in STYLES:
        panel = make_character_image(np.random.default_rng(9), 160, style=name)
        images[name] = panel.image.astype(np.int16)
    names = sorted(images)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            # a few % of pixels changing would be a tweak, not a style
            differ = np.abs(images[x] - images[y]).max(axis=2) > 40
            assert differ.mean() > 0.03, (x, y)
    assert (images["manga"][..., 0] == images["manga"][..., 1]).all()  # grey page


@pytest.mark.parametrize("name", sorted(STYLES))
def test_truth_box_is_exact_in_every_style(name: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(4):
        panel = make_panel(rng, 420, 380, n_faces=2, style=name)
        for f in panel.faces:
            assert f.box == pytest.approx(truth_box(f.points(), f.roll_deg))
            x, y, w, h = f.box
            assert x >= 0 and y >= 0 and x + w <= panel.width and y + h <= panel.height


def test_style_changes_proportions_through_the_landmarks() -> None:
    from f2a_studio.synth import sample_character

    ch = sample_character(np.random.default_rng(1), "female")
    assert styled_character(ch, DEFAULT_STYLE) is ch
    flat = styled_character(ch, get_style("webtoon_flat"))
    assert flat.params.eye_w < ch.params.eye_w
    assert flat.params.chin_y > ch.params.chin_y


def test_unknown_style_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"known: .*manga"):
        make_panel(np.random.default_rng(0), 200, 200, style="cubist")
