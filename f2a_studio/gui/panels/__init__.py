"""Dockable panels around the canvas: project browser, face inspector, status bar."""
