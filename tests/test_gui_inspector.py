"""The inspector panel as a real widget: what it shows with and without a face."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from f2a_studio.core.models import Box, Face, FaceStatus, Sex
from f2a_studio.gui.panels.inspector import Inspector


def test_no_face_selected_leaves_no_review_or_sex_button_lit(qtbot) -> None:
    inspector = Inspector()
    qtbot.addWidget(inspector)
    face = Face(id=7, image_id=1, box=Box(0, 0, 30, 30), status=FaceStatus.ACCEPTED, sex=Sex.FEMALE)
    inspector.show_face(face)
    assert inspector.status_buttons[FaceStatus.ACCEPTED].isChecked()
    assert inspector.sex_buttons[Sex.FEMALE].isChecked()
    inspector.show_face(None)
    lit = [b.text() for b in [*inspector.status_buttons.values(), *inspector.sex_buttons.values()] if b.isChecked()]
    assert lit == []
    inspector.show_face(Face(id=8, image_id=1, box=Box(0, 0, 30, 30), status=FaceStatus.REJECTED, sex=Sex.MALE))
    assert inspector.status_buttons[FaceStatus.REJECTED].isChecked()  # still one at a time with a face
    assert not inspector.status_buttons[FaceStatus.ACCEPTED].isChecked()
