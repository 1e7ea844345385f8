"""The `?` dialog: every shortcut from keymap.KEYMAP, the mouse gestures and the keys of Place Anchors."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from f2a_studio.gui.keymap import ANCHOR_HELP, KEYMAP, MOUSE_HELP


def keymap_rows() -> list[tuple[str, str, str]]:
    rows = []
    for spec in KEYMAP:
        if spec.keys:
            keys = " / ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in spec.keys)
            rows.append((spec.menu, keys, spec.text.replace("&", "")))
    rows.extend(("Mouse", gesture, what) for gesture, what in MOUSE_HELP)
    rows.extend(("Place Anchors", keys, what) for keys, what in ANCHOR_HELP)
    return rows


class KeymapDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = keymap_rows()
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Keys", "Does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 640)
