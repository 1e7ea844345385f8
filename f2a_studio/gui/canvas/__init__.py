"""The canvas: a QGraphicsScene of one cut (image + face overlays) and the QGraphicsView that shows it."""

from f2a_studio.gui.canvas.layers import Layers
from f2a_studio.gui.canvas.scene import CutScene
from f2a_studio.gui.canvas.view import CanvasView

__all__ = ["CanvasView", "CutScene", "Layers"]
