"""Dialogs: new/open project, import with progress and errors, statistics, keyboard shortcuts."""
