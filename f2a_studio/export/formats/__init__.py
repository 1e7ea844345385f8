"""Export formats by name: one module per format, one registry."""

from __future__ import annotations

from f2a_studio.core.errors import ValidationError
from f2a_studio.export.formats.base import ExportFormat
from f2a_studio.export.formats.coco import CocoFormat
from f2a_studio.export.formats.concat4 import Concat4Format
from f2a_studio.export.formats.cyclegan import CycleGanFormat
from f2a_studio.export.formats.pix2pix import Pix2PixFormat

FORMATS: dict[str, ExportFormat] = {
    f.name: f for f in (Pix2PixFormat(), CycleGanFormat(), CocoFormat(), Concat4Format())
}


def get_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValidationError(f"unknown export format {name!r}; choose one of {', '.join(FORMATS)}") from None


__all__ = ["FORMATS", "ExportFormat", "get_format"]
