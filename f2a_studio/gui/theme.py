"""Light and dark themes: a Fusion palette, a stylesheet from resources/themes/, icon colours to match."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import qtawesome as qta
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

THEMES_DIR = Path(__file__).resolve().parents[1] / "resources" / "themes"  # package data


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    button: str
    highlight: str
    canvas: str
    icon: str
    icon_disabled: str


THEMES = {
    "dark": Theme("dark", "#24272c", "#1c1e22", "#2a2d33", "#e6e6e6", "#9aa0a6", "#30343a", "#2f81f7",
                  "#15171a", "#d8dce2", "#5c6168"),
    "light": Theme("light", "#f3f4f6", "#ffffff", "#f6f7f9", "#1f2328", "#57606a", "#e9ebee", "#0969da",
                   "#c9ccd1", "#30363d", "#a0a6ad"),
}

_current = THEMES["dark"]


def current() -> Theme:
    return _current


def icon(name: str) -> QIcon:
    """A qtawesome icon in the current theme's colours."""
    return qta.icon(name, color=_current.icon, color_disabled=_current.icon_disabled)


_bound: list[tuple[weakref.ref, str]] = []


def bind_icon(target: object, name: str) -> None:
    """Give `target` (a button, an action: anything with setIcon) the icon `name`, redrawn on theme change."""
    target.setIcon(icon(name))  # type: ignore[attr-defined]
    _bound.append((weakref.ref(target), name))


def _rebind_icons() -> None:
    alive = []
    for ref, name in _bound:
        target = ref()
        if target is None:
            continue
        try:
            target.setIcon(icon(name))  # type: ignore[attr-defined]
        except RuntimeError:  # the Qt object is gone, its Python wrapper lingers
            continue
        alive.append((ref, name))
    _bound[:] = alive


def stylesheet(theme: Theme) -> str:
    path = THEMES_DIR / f"{theme.name}.qss"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""  # installed without resources/: the palette alone still gives a usable theme
    for key, value in theme.__dict__.items():
        text = text.replace("@" + key, value)
    return text


def apply_theme(app: QApplication, name: str) -> Theme:
    global _current
    theme = THEMES.get(name, THEMES["dark"])
    _current = theme
    app.setStyle("Fusion")
    palette = QPalette()
    roles = QPalette.ColorRole
    palette.setColor(roles.Window, QColor(theme.window))
    palette.setColor(roles.WindowText, QColor(theme.text))
    palette.setColor(roles.Base, QColor(theme.base))
    palette.setColor(roles.AlternateBase, QColor(theme.alt_base))
    palette.setColor(roles.Text, QColor(theme.text))
    palette.setColor(roles.Button, QColor(theme.button))
    palette.setColor(roles.ButtonText, QColor(theme.text))
    palette.setColor(roles.ToolTipBase, QColor(theme.base))
    palette.setColor(roles.ToolTipText, QColor(theme.text))
    palette.setColor(roles.PlaceholderText, QColor(theme.muted))
    palette.setColor(roles.Highlight, QColor(theme.highlight))
    palette.setColor(roles.HighlightedText, QColor("#ffffff"))
    palette.setColor(roles.Link, QColor(theme.highlight))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.muted))
    app.setPalette(palette)
    app.setStyleSheet(stylesheet(theme))
    _rebind_icons()
    return theme
