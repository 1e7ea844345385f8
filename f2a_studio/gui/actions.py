"""QActions from the keymap table, menus and the toolbar. Handlers are connected by the main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from f2a_studio.gui import theme
from f2a_studio.gui.canvas.layers import LAYER_TITLES, Layers
from f2a_studio.gui.keymap import KEYMAP, SPECS

MENUS = ("File", "Edit", "Review", "View", "Detect", "Learn", "Help")
TOOLBAR = (
    "open_project", "import_files", None, "undo", "redo", None, "accept", "reject", "sex_female", "sex_male",
    "sex_unknown", "draw_box", "place_anchors", "delete", None, "review_next", None, "fit", "fit_width",
    "actual_size", None, "detect_scene", "detect_all", None, "theme_dark",
)


class Actions:
    """All actions by id, plus the layer toggles and the Open Recent menu."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.by_id: dict[str, QAction] = {}
        for spec in KEYMAP:
            action = QAction(spec.text, window)
            if spec.keys:
                action.setShortcuts([QKeySequence(k) for k in spec.keys])
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip = spec.tip or spec.text.replace("&", "")
            if spec.keys:
                tip += f"  ({spec.keys[0]})"
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setCheckable(spec.checkable)
            window.addAction(action)  # shortcuts work even for actions in no visible menu
            self.by_id[spec.id] = action
        self.layers: dict[str, QAction] = {}
        for name in Layers.names():
            action = QAction(LAYER_TITLES[name], window)
            action.setCheckable(True)
            self.layers[name] = action
        self.recent_menu = QMenu("Open &Recent", window)
        self.menus: dict[str, QMenu] = {}  # filled by build_menus
        for spec in KEYMAP:
            if spec.icon:
                theme.bind_icon(self.by_id[spec.id], spec.icon)

    def __getitem__(self, action_id: str) -> QAction:
        return self.by_id[action_id]

    def edit_actions(self) -> list[QAction]:
        return [self.by_id[s.id] for s in KEYMAP if s.edits]

    def build_menus(self) -> dict[str, QMenu]:
        bar = self.window.menuBar()
        menus = {name: bar.addMenu(f"&{name}") for name in MENUS}
        hidden = {"nudge_left", "nudge_right", "nudge_up", "nudge_down", "nudge_left_10", "nudge_right_10",
                  "nudge_up_10", "nudge_down_10", "clear_selection"}
        for spec in KEYMAP:
            if spec.id in hidden:
                continue
            menu = menus[spec.menu]
            if spec.id == "import_files":
                menu.addMenu(self.recent_menu)
                menu.addSeparator()
            if spec.id in ("statistics", "close_project", "undo", "accept", "delete", "fit", "theme_dark",
                           "cancel_job", "advance", "retrain_sex"):
                menu.addSeparator()
            menu.addAction(self.by_id[spec.id])
            if spec.id == "theme_dark":
                layers = menu.addMenu("&Layers")
                for action in self.layers.values():
                    layers.addAction(action)
        self.menus = menus
        return menus

    def build_toolbar(self) -> QToolBar:
        toolbar = QToolBar("Main", self.window)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        for action_id in TOOLBAR:
            if action_id is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(self.by_id[action_id])
        return toolbar


def spec_text(action_id: str) -> str:
    return SPECS[action_id].text.replace("&", "")
