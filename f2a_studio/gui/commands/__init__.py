"""Undo commands, one module per family. Every edit the studio makes is one of these on Session.undo_stack."""

from f2a_studio.gui.commands.anchor_edit import AnchorEdit
from f2a_studio.gui.commands.base import StoreCommand
from f2a_studio.gui.commands.edit_face import EditFace
from f2a_studio.gui.commands.lifecycle import AddFace, DeleteFace

__all__ = ["AddFace", "AnchorEdit", "DeleteFace", "EditFace", "StoreCommand"]
