"""Export errors: one for anything that stops an export, one for a cancel asked by the user."""

from __future__ import annotations

from f2a_studio.core.errors import F2AError
from f2a_studio.core.jobs import JobCancelled


class ExportError(F2AError):
    """An export that cannot be done (bad options, unwritable target, full disk...); nothing was left behind."""


class ExportCancelled(ExportError, JobCancelled):
    """The user cancelled the export; the half-written temp folder was removed. A JobCancelled, so every
    job runner (core/jobs.py) reports it as a cancel, not a failure."""
