"""The inspector: everything about the selected face, with buttons for each edit (also on keys).

It shows what the store holds (the main window hands it the stored face after every change) and
asks for edits through signals; it never edits a face itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.core.ibug68 import NAMES
from f2a_studio.core.models import Face, FaceStatus, ImageRecord, Sex
from f2a_studio.detect.verifiers import REFINED_FEATURE, VERIFIER_FEATURE  # names (torch only to verify)
from f2a_studio.gui import theme
from f2a_studio.gui.editor import COLOR_FIELDS

MOVED_IOU = 0.9  # a refined box this close to the finder's is not worth a word
COLOR_TITLES = {"skin": "Skin", "hair": "Hair", "left_eye": "Eye (image left)", "right_eye": "Eye (image right)"}


def _toggle(text: str, icon_name: str | None, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setCheckable(True)
    button.setToolTip(tip)
    if icon_name:
        theme.bind_icon(button, icon_name)
    return button


QUEUE_HELP = (
    "Why Space sends you here (0 = settled, 1 = a person surely needed):\n"
    "· is it a face? — the finder's calibrated score; 0.5 is a coin toss\n"
    "· sex uncertain p (from 0.9: sex predicted p) — the sex classifier's confidence; 0.5 is a guess\n"
    "· landmarks disagree d NME — the learned landmark model and the template fit differ by d (mean point "
    "distance over the eye distance; 0.20 or more surely needs a person). Measured by Learn ▸ Retrain.")


def score_text(face: Face) -> str:
    """The calibrated score, and where it came from: the finder and, when the project's crop verifier
    re-scored it, the verifier's own p (a face it doubts reads "crop check 0.12") and, when it moved the
    finder's box, how far ("box moved, IoU 0.62" with the finder's)."""
    text = f"{face.score:.3f}"
    if face.source.value == "human" or not face.finder:
        return text
    named = dict(face.score_features)
    p, moved = named.get(VERIFIER_FEATURE), named.get(REFINED_FEATURE)
    words = [face.finder]
    if p is not None:
        words.append(f"crop check {p:.2f}")
    if moved is not None and moved < MOVED_IOU:
        words.append(f"box moved, IoU {moved:.2f}")
    return f"{text}  ({', '.join(words)})"


class Inspector(QWidget):
    statusRequested = Signal(object)  # FaceStatus
    sexRequested = Signal(object)  # Sex
    colorRequested = Signal(str, object)  # field, '#rrggbb' or None
    eyedropperRequested = Signal(str)  # field
    deleteRequested = Signal()
    visibilityToggleRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face: Face | None = None
        self.title = QLabel("No face selected")
        self.title.setObjectName("inspectorTitle")
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("muted")
        self.subtitle.setWordWrap(True)

        self.status_buttons = {
            FaceStatus.ACCEPTED: _toggle("Accept", "mdi6.check-bold", "Accept (A)"),
            FaceStatus.REJECTED: _toggle("Reject", "mdi6.close-thick", "Reject (X)"),
            FaceStatus.UNREVIEWED: _toggle("Unreviewed", None, "Back to unreviewed (Shift+U)"),
        }
        self.sex_buttons = {
            Sex.FEMALE: _toggle("F", "mdi6.gender-female", "Female (F)"),
            Sex.MALE: _toggle("M", "mdi6.gender-male", "Male (M)"),
            Sex.UNKNOWN: _toggle("?", None, "Unknown (U)"),
        }
        review = QGroupBox("Review")
        grid = QGridLayout(review)
        rows = ((self.status_buttons, 0, self.statusRequested), (self.sex_buttons, 1, self.sexRequested))
        self._groups: list[QButtonGroup] = []
        for groups, row, signal in rows:
            exclusive = QButtonGroup(self)
            self._groups.append(exclusive)
            for col, (value, button) in enumerate(groups.items()):
                exclusive.addButton(button)
                button.clicked.connect(lambda _=False, v=value, s=signal: s.emit(v))
                grid.addWidget(button, row, col)
        self.sex_prob = QLabel("")
        self.sex_prob.setObjectName("muted")
        grid.addWidget(self.sex_prob, 2, 0, 1, 3)
        self.queue_label = QLabel("")  # why the review queue wants a person here (show_queue)
        self.queue_label.setObjectName("queueReasons")
        self.queue_label.setWordWrap(True)
        grid.addWidget(self.queue_label, 3, 0, 1, 3)

        colors = QGroupBox("Colours")
        form = QFormLayout(colors)
        self.swatches: dict[str, QPushButton] = {}
        self.hex_labels: dict[str, QLabel] = {}
        self.droppers: dict[str, QToolButton] = {}
        for name in COLOR_FIELDS:
            swatch = QPushButton()
            swatch.setObjectName("swatch")
            swatch.setToolTip(f"Pick the {COLOR_TITLES[name].lower()} colour")
            swatch.clicked.connect(lambda _=False, n=name: self._pick(n))
            dropper = QToolButton()
            theme.bind_icon(dropper, "mdi6.eyedropper")
            dropper.setToolTip("Eyedropper: click on the image to take this colour")
            dropper.clicked.connect(lambda _=False, n=name: self.eyedropperRequested.emit(n))
            label = QLabel("–")
            row = QHBoxLayout()
            row.addWidget(swatch)
            row.addWidget(dropper)
            row.addWidget(label, 1)
            form.addRow(COLOR_TITLES[name], row)
            self.swatches[name], self.droppers[name], self.hex_labels[name] = swatch, dropper, label

        details = QGroupBox("Details")
        self.details = QFormLayout(details)
        self.labels: dict[str, QLabel] = {}
        for key in ("score", "source", "box", "landmarks", "pose", "revision"):
            label = QLabel("–")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[key] = label
            self.details.addRow(key.capitalize(), label)

        points = QGroupBox("Selected landmarks")
        point_layout = QVBoxLayout(points)
        self.point_label = QLabel("Click a point; Shift+click selects its group.")
        self.point_label.setWordWrap(True)
        self.visibility_button = QPushButton("Toggle visible / occluded (V)")
        theme.bind_icon(self.visibility_button, "mdi6.eye-off-outline")
        self.visibility_button.clicked.connect(self.visibilityToggleRequested.emit)
        point_layout.addWidget(self.point_label)
        point_layout.addWidget(self.visibility_button)

        self.delete_button = QPushButton("Delete face")
        theme.bind_icon(self.delete_button, "mdi6.delete-outline")
        self.delete_button.clicked.connect(self.deleteRequested.emit)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        for widget in (self.title, self.subtitle, review, colors, points, details):
            layout.addWidget(widget)
        layout.addWidget(self.delete_button)
        layout.addStretch(1)
        self._editable = True
        self.show_face(None)

    # ------------------------------------------------------------ display

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self._update_enabled()

    def _update_enabled(self) -> None:
        on = self._editable and self.face is not None
        for button in [*self.status_buttons.values(), *self.sex_buttons.values(), *self.swatches.values(),
                       *self.droppers.values(), self.delete_button]:
            button.setEnabled(on)
        self.visibility_button.setEnabled(on and bool(self.face and self.face.landmarks))

    def show_face(self, face: Face | None, points: tuple[int, ...] = (), record: ImageRecord | None = None) -> None:
        self.face = face
        self._update_enabled()
        if face is None:
            self.title.setText("No face selected")
            self.subtitle.setText("Tab: next face · Space: next unreviewed · B: draw a box")
            # An exclusive group never unchecks its checked button: lift exclusivity to clear it,
            # else Accept and F stayed lit from the previous face with nothing selected.
            for group in self._groups:
                group.setExclusive(False)
                for button in group.buttons():
                    button.setChecked(False)
                group.setExclusive(True)
            for name in COLOR_FIELDS:
                self._show_color(name, None)
            for label in self.labels.values():
                label.setText("–")
            self.sex_prob.setText("")
            self.sex_prob.hide()
            self.point_label.setText("")
            self.show_queue([])
            return
        self.title.setText(f"Face #{face.id}")
        self.subtitle.setText(record.name if record is not None else f"cut {face.image_id}")
        self.status_buttons[face.status].setChecked(True)
        self.sex_buttons[face.sex].setChecked(True)
        self.sex_prob.setText(f"p = {face.sex_prob:.2f}" if face.sex_prob is not None else "")
        self.sex_prob.setVisible(face.sex_prob is not None)
        for name in COLOR_FIELDS:
            self._show_color(name, getattr(face.colors, name))
        b = face.box
        self.labels["score"].setText(score_text(face))
        self.labels["source"].setText(face.source.value)
        self.labels["box"].setText(f"{b.x:.0f}, {b.y:.0f}  {b.w:.0f}×{b.h:.0f}")
        if face.landmarks:
            vis = [p[2] for p in face.landmarks]
            self.labels["landmarks"].setText(f"68 · {vis.count(2)} visible · {vis.count(1)} occluded")
        else:
            self.labels["landmarks"].setText("none")
        pose = face.pose
        self.labels["pose"].setText(
            f"yaw {pose.yaw:.0f}° pitch {pose.pitch:.0f}° roll {pose.roll:.0f}°" if pose else "–"
        )
        self.labels["revision"].setText(str(face.revision))
        self._show_points(face, points)

    def show_queue(self, reasons: list[tuple[str, float]]) -> None:
        """The review queue's reasons for the shown face (core.review_queue.face_needs), most needed first."""
        if self.face is None:
            self.queue_label.setText("")
            self.queue_label.setToolTip("")
            return
        if not reasons:
            self.queue_label.setText("Queue: nothing open on this face")
        else:
            need = max(n for _, n in reasons)
            self.queue_label.setText(f"Queue: need {need:.2f} · " + " · ".join(text for text, _ in reasons))
        self.queue_label.setToolTip(QUEUE_HELP)

    def _show_points(self, face: Face, points: tuple[int, ...]) -> None:
        if not points or not face.landmarks:
            self.point_label.setText("Click a point; Shift+click selects its group." if face.landmarks else
                                     "This face has no landmarks.")
            return
        if len(points) == 1:
            i = points[0]
            x, y, v = face.landmarks[i]
            state = {2: "visible", 1: "occluded", 0: "not labelled"}[v]
            self.point_label.setText(f"{NAMES[i]} (#{i}) at {x:.1f}, {y:.1f} · {state}")
        else:
            self.point_label.setText(f"{len(points)} points: {NAMES[points[0]].rsplit('_', 1)[0]}…")

    def _show_color(self, name: str, value: str | None) -> None:
        swatch = self.swatches[name]
        if value:
            swatch.setStyleSheet(f"background: {value};")
            self.hex_labels[name].setText(value)
        else:
            swatch.setStyleSheet("background: transparent;")
            self.hex_labels[name].setText("unknown")

    def _pick(self, name: str) -> None:
        current = getattr(self.face.colors, name) if self.face else None
        color = QColorDialog.getColor(QColor(current or "#808080"), self, f"{COLOR_TITLES[name]} colour")
        if color.isValid():
            self.colorRequested.emit(name, color.name())
