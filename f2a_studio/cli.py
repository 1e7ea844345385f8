"""The `f2a` command line. Each command is a thin shell over core/, detect/, export/ and synth/.

Heavy packages (Qt, torch, the detector) are imported inside the commands that need them, so `f2a info`
starts in a fraction of a second.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from f2a_studio.core.errors import F2AError
from f2a_studio.core.store import ProjectStore, is_project, remove_new_project

app = typer.Typer(
    name="f2a",
    help="F2A Studio: webtoon/anime faces → clean datasets for face-to-anime translation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    # every message may hold a user's file name: printed as text, never as rich markup ("[/" would crash)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", style="dim", markup=False),  # file names are not markup
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def progress_callback(bar: Progress, task) -> Callable[[int, int | None, str], None]:
    """A job's progress callback: the bar on a terminal, and progress lines on stderr when a parent process
    asked for them (core.progress_lines: the studio's retrain shows a trainer's steps)."""
    from f2a_studio.core.progress_lines import LineEmitter

    emit = LineEmitter()

    def on_progress(done: int, total: int | None, text: str) -> None:
        bar.update(task, completed=done, total=total, current=text)
        emit(done, total, text)

    return on_progress


def open_store(project: Path, *, create: bool = False, read_only: bool = False) -> ProjectStore:
    if not is_project(project):
        if not create:
            raise _fail(
                f"{project} is not an F2A project (no project.f2a.sqlite). "
                "Create one with `f2a sample` or `f2a import`."
            )
        return ProjectStore.create(project)
    store = ProjectStore.open(project, read_only=read_only)
    if store.read_only and not read_only:
        store.close()
        raise _fail(f"{project} is read-only: {store.read_only_reason}")
    return store


@app.command("import")
def import_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder (created if missing).")],
    sources: Annotated[list[Path], typer.Argument(help="Image files, folders (recursive) or webtoon strips.")],
    no_split: Annotated[bool, typer.Option("--no-split", help="Never split tall images into cuts.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    title: Annotated[str | None, typer.Option("--title", help="Title id of every cut (default: from names).")] = None,
    episode: Annotated[str | None, typer.Option("--episode", help="Episode of every cut (default: names).")] = None,
    domain: Annotated[str, typer.Option("--domain", help="anime: pictures, strips (CycleGAN B); human: face "
                                        "photos (CycleGAN A), never split; a .pts beside a photo is its face.")]
    = "anime",
) -> None:
    """Import scenes and strips; tall strips are split into cuts at their gutters. Idempotent.

    Numbered slices of one episode in a folder (`1.jpg … 18.jpg`, `name01.jpg … name18.jpg`, one width)
    are joined in numeric order before splitting, so they make one episode."""
    from f2a_studio.core.importer import import_sources
    from f2a_studio.core.models import Domain
    from f2a_studio.core.strips import SplitOptions

    try:
        chosen_domain = Domain.parse(domain)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    split = SplitOptions(min_aspect=float("inf")) if no_split else SplitOptions()
    new_project = not is_project(project)
    created_folder = not project.exists()
    report = None
    try:
        with open_store(project, create=True) as store, progress_bar() as bar:
            task = bar.add_task("importing", total=None, current="")

            def on_progress(done: int, total: int, path: str) -> None:
                bar.update(task, completed=done, total=total, current=Path(path).name)

            report = import_sources(store, sources, split=split, progress=on_progress, title=title, episode=episode,
                                    domain=chosen_domain)
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    finally:
        if new_project and (report is None or not (report.added or report.already_present)):
            remove_new_project(project, remove_folder=created_folder)  # nothing went in: leave nothing behind
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        console.print(
            f"imported {len(report.added)} cut(s) from {report.files_done} file(s), "
            f"{report.already_present} already present, {len(report.problems)} problem(s)"
        )
    for note in report.notes:
        console.print(f"[yellow]note[/] {escape(note.path)}: {escape(note.reason)}", highlight=False, soft_wrap=True)
    for problem in report.problems:
        console.print(f"[yellow]skipped[/] {escape(problem.path)}: {escape(problem.reason)}", highlight=False,
                      soft_wrap=True)
    attempted = report.files_done + len(report.problems)
    if attempted and not report.added and not report.already_present:
        raise typer.Exit(1)


@app.command()
def info(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Counts of images and faces by status and sex, per title and episode."""
    try:
        with open_store(project, read_only=True) as store:
            stats = store.stats()
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps(stats.to_json(), ensure_ascii=False))
        return
    out = Console()
    out.print(f"[bold]{escape(str(project))}[/]: {stats.images} cut(s), {stats.faces} face(s), "
              f"{stats.images_without_faces} cut(s) without faces, {stats.images_detected} detected")
    out.print("faces by status: " + ", ".join(f"{k} {v}" for k, v in stats.faces_by_status.items()))
    out.print("faces by sex: " + ", ".join(f"{k} {v}" for k, v in stats.faces_by_sex.items()))
    table = Table("title", "episode", "cuts", "faces")
    for ep in stats.episodes:
        table.add_row(escape(ep.title_id), escape(ep.episode), str(ep.images), str(ep.faces))
    out.print(table)


@app.command()
def sample(
    project: Annotated[Path, typer.Argument(help="Folder for the new sample project.")],
    scenes: Annotated[int, typer.Option(help="Number of panels (scenes) to draw.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same project.")] = 0,
    run_detection: Annotated[
        bool, typer.Option("--detect/--no-detect", help="Run face detection on the new project (worker processes).")
    ] = True,
) -> None:
    """Make a ready project of synthetic webtoon strips, with exact ground truth in truth.jsonl."""
    from f2a_studio.synth.sample_project import make_sample_project

    if scenes < 1:
        raise _fail("--scenes must be at least 1")
    try:
        with progress_bar() as bar:
            on_progress = progress_callback(bar, bar.add_task("drawing", total=None, current=""))

            summary = make_sample_project(project, scenes=scenes, seed=seed, progress=on_progress)
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"sample project {escape(str(project))}: {summary.cuts} cut(s) from {summary.strips} strip(s), "
        f"{summary.faces} true face(s) in {summary.truth_path.name}"
    )
    if run_detection:
        from f2a_studio.detect.pipeline import DetectOptions

        defaults = DetectOptions()
        # synthetic faces are the shipped landmark model's home ground: nothing to adapt to; `make run` stays quick
        detect(project, workers=0, threshold=defaults.threshold, timeout=defaults.timeout_s, redo=False, as_json=False,
               small_faces=defaults.small_faces, adapt_landmarks=False)


@app.command()
def studio(
    project: Annotated[Path | None, typer.Argument(help="Project folder to open.")] = None,
    screenshot: Annotated[
        Path | None, typer.Option(help="Render the main window to this PNG and exit.")
    ] = None,
    select: Annotated[int | None, typer.Option(help="Select this face id at start.")] = None,
    review: Annotated[bool, typer.Option("--review", help="Start as Space does: the next face to review, "
                                                          "zoomed to.")] = False,
) -> None:
    """Open the studio window."""
    from f2a_studio.gui.app import run_studio

    raise typer.Exit(run_studio(project, screenshot=screenshot, select=select, review=review))


@app.command()
def faces(
    images: Annotated[list[Path], typer.Argument(help="Image files.")],
    threshold: Annotated[float, typer.Option(help="Keep faces with a calibrated score at least this (0–1).")] = 0.3,
    workers: Annotated[int, typer.Option(help="Worker processes (0: one per core).")] = 0,
    timeout: Annotated[float, typer.Option(help="Time limit per image in seconds.")] = 120.0,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One compact JSON object per line, streamed.")] = False,
    project: Annotated[Path | None, typer.Option(
        help="Use this project's models: its own finder (f2a train-finder) and score calibrations (f2a calibrate)."
    )] = None,
    domain: Annotated[str, typer.Option("--domain", help="anime: pictures and strips (animeface, the learned "
                                        "finder); human: face photos (the photo finder, MediaPipe or the "
                                        "template landmarks; no sex guess).")] = "anime",
    small_faces: Annotated[str, typer.Option("--small-faces", help="The up-scaled pass for faces too small "
                                             "for animeface and the half-size pass for large ones: guided "
                                             "(only around the learned finder's proposals; faster) or full "
                                             "(over the whole image).")] = "guided",
) -> None:
    """Detect faces in image files: one JSON object per image (a JSON array unless --jsonl), with boxes,
    score, parts, colours, 68 landmarks [x, y, v] and pose in original pixels. A file that cannot be done
    gets {"error": ...}; the exit status is 1 only when every file failed. `--domain human` runs the
    human-photo backends `f2a detect` runs on a project's human-domain images; a photo without a face
    gets a note on stderr."""
    from f2a_studio.core.models import Domain
    from f2a_studio.detect import DetectOptions, detect_files

    try:
        chosen = Domain.parse(domain)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    try:
        if project is not None and not is_project(project):
            raise F2AError(f"{project} is not an F2A project (no project.f2a.sqlite); --project names a project folder")
        options = DetectOptions(threshold=threshold, workers=workers, timeout_s=timeout, small_faces=small_faces)
        results = []
        ok = 0
        for result in detect_files(images, options, domain=chosen.value, project=project):
            ok += result.ok
            for note in result.notes:  # stdout keeps the exact schema; warnings go to stderr
                console.print(f"[yellow]note[/] {escape(str(result.path))}: {escape(note)}", highlight=False)
            if jsonl:
                print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
            else:
                results.append(result.to_json())
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    if not jsonl:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    if images and ok == 0:
        raise typer.Exit(1)


@app.command()
def detect(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    workers: Annotated[int, typer.Option(help="Worker processes (0: one per core).")] = 0,
    threshold: Annotated[float, typer.Option(help="Keep faces with a calibrated score at least this (0–1).")] = 0.3,
    timeout: Annotated[float, typer.Option(help="Time limit per image in seconds.")] = 120.0,
    redo: Annotated[bool, typer.Option("--redo", help="Detect every image again, not only new ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    small_faces: Annotated[str, typer.Option("--small-faces", help="The up-scaled pass for faces too small "
                                             "for animeface and the half-size pass for large ones: guided "
                                             "(only around the learned finder's proposals; faster) or full "
                                             "(over the whole image).")] = "guided",
    adapt_landmarks: Annotated[bool, typer.Option(help="Adapt the landmark model to the project's faces when "
                                                  "it has enough new ones (a minute or two on 2 cores, once "
                                                  "per doubling), then re-place unreviewed faces' landmarks.")] = True,
) -> None:
    """Find faces in every cut not detected yet (an interrupted run resumes); faces a person made or
    edited are never overwritten. Then, once the project has 20 likely faces (and again each time they
    double), the landmark model adapts to them without labels and the unreviewed faces' landmarks are
    placed again (detect/landmarks/auto_adapt.py)."""
    from f2a_studio.cli_learn import adapt_landmarks_after_detect
    from f2a_studio.detect import DetectOptions, detect_images

    try:
        options = DetectOptions(threshold=threshold, workers=workers, timeout_s=timeout, small_faces=small_faces)
        with open_store(project) as store:
            with progress_bar() as bar:
                task = bar.add_task("detecting", total=None, current="")

                def on_progress(done: int, total: int, name: str = "") -> None:
                    bar.update(task, completed=done, total=total, current=name)

                ids = [r.id for r in store.images()] if redo else None
                report = detect_images(store, ids, options, progress=on_progress)
                broken = dict(store.broken_faces)
            _print_detect_report(report, broken, as_json=as_json)  # before the adapting's own lines
            if adapt_landmarks and not report.stopped:
                report.landmark_adaptation = adapt_landmarks_after_detect(store, workers, quiet=as_json)
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    if report.done and len(report.failed) == report.done:
        raise typer.Exit(1)


def _print_detect_report(report, broken: dict[int, str], *, as_json: bool) -> None:
    if not as_json:
        console.print(f"detected {report.done} cut(s): {report.faces} face(s), {len(report.failed)} failed, "
                      f"{report.skipped} done before; {report.seconds:.1f} s", highlight=False)
    for image_id, reason in report.failed:
        console.print(f"[yellow]failed[/] image {image_id}: {escape(reason)}", highlight=False)
    for image_id, note in report.notes:
        console.print(f"[yellow]note[/] image {image_id}: {escape(note)}", highlight=False)
    for face_id, why in broken.items():  # left as they are, never deleted
        console.print(f"[yellow]skipped[/] face {face_id}: {escape(why)}", highlight=False)


@app.command("export")
def export_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    out: Annotated[Path, typer.Argument(help="New (or empty) folder for the dataset; written atomically.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="pix2pix | cyclegan | coco | concat4")] = "pix2pix",
    size: Annotated[int, typer.Option(help="Crop size: a power of two, 64–1024.")] = 256,
    margin: Annotated[float, typer.Option(help="Context around the face, fraction of the face span.")] = 0.3,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Keep only the character (alpha or GrabCut).")
    ] = False,
    background: Annotated[str, typer.Option(help="With --foreground: white | transparent.")] = "white",
    seed: Annotated[int, typer.Option(help="Seed of the train/val/test split.")] = 0,
    split: Annotated[str, typer.Option(help="Ratios train,val,test.")] = "0.8,0.1,0.1",
    split_by: Annotated[str, typer.Option(help="episode | title: never split inside one.")] = "episode",
    status: Annotated[list[str] | None, typer.Option(help="Face status to take (repeatable).")] = None,
    min_score: Annotated[float, typer.Option(help="Minimum face score.")] = 0.0,
    min_size: Annotated[float, typer.Option(help="Minimum face size in pixels (shorter box side).")] = 0.0,
    sex: Annotated[list[str] | None, typer.Option(help="female | male | unknown (repeatable).")] = None,
    max_yaw: Annotated[float | None, typer.Option(help="Largest |yaw| in degrees.")] = None,
    max_pitch: Annotated[float | None, typer.Option(help="Largest |pitch| in degrees.")] = None,
    max_roll: Annotated[float | None, typer.Option(help="Largest |roll| in degrees.")] = None,
    title: Annotated[list[str] | None, typer.Option(help="Only this title id (repeatable).")] = None,
    episode: Annotated[list[str] | None, typer.Option(help="Only this episode, TITLE_EP (repeatable).")] = None,
    human_photos: Annotated[
        Path | None, typer.Option(help="cyclegan: human photos (+ .pts) for trainA/testA.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be exported and why faces are left out.")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier export in OUT.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result (or the plan) as JSON on stdout.")] = False,
) -> None:
    """Export a curated, reproducible dataset (deterministic split by episode, manifest.json)."""
    import signal
    import threading

    from f2a_studio.export import ExportCancelled, ExportOptions, FaceFilter, plan_export, run_export
    from f2a_studio.export.runner import default_workers

    try:
        ratios = tuple(float(r) for r in split.split(","))
        filters = FaceFilter(
            statuses=tuple(status or ("accepted",)), min_score=min_score, min_size=min_size, sexes=tuple(sex or ()),
            max_abs_yaw=max_yaw, max_abs_pitch=max_pitch, max_abs_roll=max_roll,
            titles=tuple(title or ()), episodes=tuple(episode or ()),
        )
        options = ExportOptions(
            format=fmt, size=size, margin=margin, foreground=foreground, background=background, seed=seed,
            ratios=ratios, split_by=split_by, filters=filters,  # type: ignore[arg-type]
            human_photos=str(human_photos) if human_photos else None,
            workers=default_workers() if workers is None else workers,
        )
        with open_store(project, read_only=True) as store:
            plan = plan_export(store, options)
        if dry_run:
            if as_json:
                print(json.dumps({"counts": plan.counts(), "split": plan.split_json(),
                                  "excluded": [e.__dict__ for e in plan.excluded]}, ensure_ascii=False))
            else:
                print("\n".join(plan.dry_run_lines()))
            return
        if not plan.items and not (plan.human and plan.human.items):
            raise _fail("no face passes the filters; nothing to export (see --dry-run for the reasons)", 1)
        # SIGTERM cancels like the studio's Cancel: the export stops at the next file and removes its temp
        # folder. (Raising from the handler instead can be lost: a signal that lands while a
        # finaliser runs has its exception printed and ignored, and the export goes on.)
        terminated = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: terminated.set())
        with progress_bar() as bar:
            on_progress = progress_callback(bar, bar.add_task("exporting", total=None, current=""))

            result = run_export(plan, out, overwrite=overwrite, progress=on_progress, cancel=terminated)
    except ExportCancelled:
        console.print("export stopped (SIGTERM): nothing was written; an earlier export is left as it was",
                      highlight=False)
        raise typer.Exit(130) from None
    except (F2AError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    if plan.human is not None:
        for line in plan.human.summary_lines(per_photo=False):
            console.print(escape(line), highlight=False)
    c = result.counts
    if as_json:
        print(json.dumps({"out": str(result.out), "format": result.format, "counts": c, "files": result.files,
                          "seconds": round(result.seconds, 3)}, ensure_ascii=False))
    else:
        console.print(f"exported {c['faces']} face(s) to {escape(str(result.out))} as {result.format}: "
                      f"train {c['train']}, val {c['val']}, test {c['test']}; {c['excluded']} left out; "
                      f"{result.seconds:.1f} s ({result.faces_per_second:.0f} faces/s)", highlight=False)


@app.command("import-coco")
def import_coco_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder (created if missing).")],
    annotations: Annotated[Path, typer.Argument(help="COCO JSON: 68-point keypoint faces, or face boxes only.")],
    images: Annotated[Path | None, typer.Option(help="Folder of the images (default: beside the JSON).")] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "--category", help="Box-only COCO: the face category, by name or id "
                                                    "(repeatable; default: names with 'face' in them)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Import COCO annotations as faces; importing twice adds nothing. Keypoint COCO (e.g. an F2A coco
    export) keeps its landmarks and attributes; box-only COCO (CVAT, X-AnyLabeling...) becomes accepted
    human faces with fitted landmarks (as `f2a import-labels --format coco`)."""
    from f2a_studio.cli_labels import print_report
    from f2a_studio.export.coco_import import import_coco

    new_project = not is_project(project)
    created_folder = not project.exists()
    report = None
    try:
        with open_store(project, create=True) as store:
            report = import_coco(store, annotations, images_dir=images, labels=label or ())
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    finally:
        if new_project and (report is None or not (report.images_added or report.faces_added)):
            remove_new_project(project, remove_folder=created_folder)  # a refused file leaves no project
    print_report(report, as_json)


# Commands in modules of their own, registered on this app (also when run as `python -m f2a_studio.cli`).
from f2a_studio import cli_finder, cli_labels, cli_learn, cli_train  # noqa: E402

for _commands in (cli_finder, cli_train, cli_learn, cli_labels):
    _commands.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
