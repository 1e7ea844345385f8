"""One family of domain errors. Low-level errors (OSError, sqlite3, PIL) are wrapped in these, with a
message that names the file and the reason, so the CLI and the studio can show them as they are."""

from __future__ import annotations


class F2AError(Exception):
    """Base of every error this project raises on purpose."""


class ValidationError(F2AError, ValueError):
    """A value that breaks the data model (bad colour, 67 landmarks, negative box size...)."""


class ImageError(F2AError):
    """An image file that cannot be used; `path` names it, the message says why."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self) -> tuple:
        # pickled across worker processes: rebuild from (path, reason), not from the joined message
        return (type(self), (self.path, self.reason))


class ProjectError(F2AError):
    """A project folder that cannot be created, opened or written."""


class ReadOnlyProjectError(ProjectError):
    """A write was attempted on a project opened read-only (another program holds it, or no write access)."""


class StaleEditError(ProjectError):
    """An edit was based on an older revision of the face than the one stored."""


class NotFoundError(ProjectError, KeyError):
    """No face or image with that id."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""
