"""`f2a import-labels`: face boxes labelled in other tools (box-only COCO, labelme JSON, YOLO txt) become
accepted human faces with fitted landmarks (export/label_import).

Registered on the `f2a` app by `register(app)` at the end of cli.py; torch loads only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from f2a_studio.core.errors import F2AError
from f2a_studio.core.store import is_project, remove_new_project

FORMATS = ("coco", "labelme", "yolo")


def register(app: typer.Typer) -> None:
    app.command("import-labels")(import_labels_cmd)


def print_report(report, as_json: bool) -> None:
    """The summary (or JSON on stdout) and one line per thing skipped, with why. Shared with import-coco."""
    from f2a_studio.cli import console

    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        console.print(f"imported {report.faces_added} face(s) ({report.faces_present} already present) on "
                      f"{report.images_added} new and {report.images_matched} known image(s)", highlight=False)
        replaced = getattr(report, "detections_replaced", 0)
        if replaced:
            console.print(f"{replaced} detection(s) of the same faces replaced by the imported boxes",
                          highlight=False)
    for problem in report.problems:
        console.print(f"[yellow]skipped[/] {escape(problem)}", highlight=False, soft_wrap=True)


def import_labels_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder (created if missing).")],
    sources: Annotated[list[Path], typer.Argument(help="Label files, or folders of them (searched recursively).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="coco (box-only) | labelme | yolo")],
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "--class", "--category",
                     help="Face label / class / category to import, by name or number (repeatable; "
                          "default: names with 'face' in them; YOLO without names: class 0)."),
    ] = None,
    images: Annotated[Path | None, typer.Option(help="Folder of the images (default: beside the labels).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Import face boxes from other labelling tools as accepted, human-drawn faces; landmarks are fitted
    by the landmark model. Reports every box it skipped and why; a malformed file imports nothing.
    Importing the same files again adds nothing."""
    from f2a_studio.cli import _fail, open_store, progress_bar, progress_callback
    from f2a_studio.export.label_import import import_labels, read_labels

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    new_project = not is_project(project)
    created_folder = not project.exists()
    report = None
    try:
        labels = read_labels(sources, fmt, labels=label or (), images_dir=images)  # all checked before a write
        with open_store(project, create=True) as store, progress_bar() as bar:
            on_progress = progress_callback(bar, bar.add_task("importing labels", total=None, current=""))

            report = import_labels(store, labels, progress=on_progress)
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    finally:
        if new_project and (report is None or not (report.images_added or report.faces_added)):
            remove_new_project(project, remove_folder=created_folder)  # nothing went in: leave nothing behind
    print_report(report, as_json)
    if not report.faces_added and not report.faces_present:
        raise typer.Exit(1)  # not one face in the files could be imported: say so in the status
