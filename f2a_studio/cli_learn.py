"""`f2a train-sex` and `f2a train-landmarks`: learn from what a person set on the project's faces.

Registered on the `f2a` app by `register(app)` at the end of cli.py; torch loads only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from f2a_studio.core.errors import F2AError


def register(app: typer.Typer) -> None:
    app.command("train-sex")(train_sex_cmd)
    app.command("train-landmarks")(train_landmarks_cmd)


def _train(project: Path, what: str, stem: str, run, threads: int, read_only: bool = True) -> dict:
    """``run(store, progress, should_stop)`` under a progress bar. An interrupted run (Ctrl-C, SIGTERM)
    leaves a resume file in checkpoints/ (detect.small_train); the next run continues from it and says so."""
    import torch

    from f2a_studio.cli import _fail, console, open_store, progress_bar, progress_callback  # cli imports us
    from f2a_studio.detect.small_train import resume_note, resume_path, stop_on_sigterm

    torch.set_num_threads(max(1, threads))
    try:
        with open_store(project, read_only=read_only) as store:
            note = resume_note(resume_path(store.checkpoints_dir, stem))
            if note:
                console.print(note, highlight=False)
            with progress_bar() as bar, stop_on_sigterm() as stop:
                on_progress = progress_callback(bar, bar.add_task(f"training {what}", total=None, current=""))
                try:
                    return run(store, on_progress, stop)
                except KeyboardInterrupt:
                    raise _fail(f"interrupted: {resume_path(store.checkpoints_dir, stem)} keeps the finished "
                                "steps; run the same command again to resume") from None
    except F2AError as exc:
        raise _fail(str(exc)) from exc


def _print_notes(card: dict) -> None:
    from f2a_studio.cli import console

    for note in card.get("notes", []):
        console.print(note, highlight=False)


def train_sex_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    steps: Annotated[int | None, typer.Option(help="Training steps (default: grows with the faces).")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads.")] = 1,
    min_faces: Annotated[int | None, typer.Option(help="Refuse with fewer labelled faces.", hidden=True)] = None,
    predict: Annotated[bool, typer.Option(help="Then predict the sex of faces no person labelled.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model card as JSON on stdout.")] = False,
) -> None:
    """Train the sex classifier on faces whose sex a person set; writes PROJECT/checkpoints/sex-learned.*
    with accuracy on held-back faces, then predicts the other faces' sex (marked predicted; a sex a person
    set is never replaced)."""
    from f2a_studio.detect.sex.backends import STEM
    from f2a_studio.detect.sex.train import MIN_FACES, predict_project, train_project

    def run(store, p, stop) -> dict:
        card = train_project(store, steps=steps, min_faces=MIN_FACES if min_faces is None else min_faces,
                             progress=p, should_stop=stop)
        return card | ({"predicted": predict_project(store)} if predict else {})

    from f2a_studio.cli import console

    card = _train(project, "sex classifier", STEM, run, threads, read_only=not predict)
    if as_json:
        print(json.dumps(card, ensure_ascii=False))
        return
    _print_notes(card)
    m = card["metrics"]
    console.print(f"trained on {card['data']['train_faces']} face(s) in {card['train']['seconds']:.0f} s → "
                  f"{card['files'][0]}", highlight=False)
    if m["held_back_after"]:
        console.print(f"held-back faces ({m['held_back_after']['faces']}): accuracy "
                      f"{m['held_back_before'].get('accuracy', float('nan')):.3f} → "
                      f"{m['held_back_after']['accuracy']:.3f}", highlight=False)
    if "predicted" in card:
        pr = card["predicted"]
        console.print(f"predicted the sex of {pr['predicted']} face(s) ({pr['backend']}); kept {pr['kept_human']} "
                      "set by a person", highlight=False)


def train_landmarks_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    steps: Annotated[int | None, typer.Option(help="Training steps (default: grows with the faces).")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads.")] = 1,
    min_faces: Annotated[int | None, typer.Option(help="Refuse with fewer corrected faces.", hidden=True)] = None,
    adapt: Annotated[bool, typer.Option(help="Also adapt to the project's faces without labels.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model card as JSON on stdout.")] = False,
) -> None:
    """Fine-tune the landmark model on the points a person placed or confirmed, and adapt it to all the
    project's faces without labels (two views of a face must give the same points); writes
    PROJECT/checkpoints/landmarks-learned.* (NME on held-back faces), the project's first landmark backend
    from then on (detection, hand-drawn boxes, refits)."""
    from f2a_studio.cli import console
    from f2a_studio.detect.landmarks.learned import STEM
    from f2a_studio.detect.landmarks.learned_train import MIN_FACES, train_project

    card = _train(project, "landmark model", STEM, lambda store, p, stop: train_project(
        store, steps=steps, min_faces=MIN_FACES if min_faces is None else min_faces, progress=p,
        should_stop=stop, adapt=adapt), threads)
    if as_json:
        print(json.dumps(card, ensure_ascii=False))
        return
    _print_notes(card)
    m = card["metrics"]
    d = card["data"]
    adapted = f", adapted to {d['adapted_faces']} without labels" if d.get("adapted_faces") else ""
    console.print(f"trained on {d['train_faces']} corrected face(s){adapted} in {card['train']['seconds']:.0f} s → "
                  f"{card['files'][0]}", highlight=False)
    if m["held_back_after"].get("nme") is not None:
        console.print(f"held-back NME {m['held_back_before'].get('nme', float('nan')):.3f} → "
                      f"{m['held_back_after']['nme']:.3f}", highlight=False)
    if m["held_back_after"].get("view_disagreement") is not None:  # label-free: lower follows the faces better
        console.print(f"held-back view disagreement {m['held_back_before']['view_disagreement']:.3f} → "
                      f"{m['held_back_after']['view_disagreement']:.3f} (of a box side)", highlight=False)


def adapt_landmarks_after_detect(store, workers: int, *, quiet: bool = False) -> dict:
    """`f2a detect`'s last step (landmarks.auto_adapt.adapt_if_due) under a progress bar, on every core
    (``workers`` 0) or as many threads as workers; says on the console what it did or why not. Returns the
    report's ``landmark_adaptation``."""
    import os

    from f2a_studio.cli import _fail, console, progress_bar, progress_callback  # cli imports us
    from f2a_studio.detect.landmarks.auto_adapt import AdaptDecision, adapt_if_due
    from f2a_studio.detect.landmarks.learned import STEM
    from f2a_studio.detect.small_train import resume_path, stop_on_sigterm

    def say_start(decision: AdaptDecision) -> None:
        if not quiet:
            console.print(f"landmarks: {decision.why}; adapting the landmark model", highlight=False)

    try:
        with progress_bar() as bar, stop_on_sigterm() as stop:
            on_progress = progress_callback(bar, bar.add_task("adapting landmarks", total=None, current=""))
            done = adapt_if_due(store, threads=workers or os.cpu_count() or 1, progress=on_progress,
                                should_stop=stop, on_start=say_start)
    except KeyboardInterrupt:
        raise _fail(f"interrupted while adapting the landmark model: the detections are saved and "
                    f"{resume_path(store.checkpoints_dir, STEM)} keeps the finished steps; the next f2a detect "
                    "continues (--no-adapt-landmarks skips it)") from None
    if not quiet:
        for note in done.get("notes", []):
            console.print(f"[dim]{note}[/]", highlight=False)
        console.print(f"landmarks: {done['text']}" if done["adapted"] else f"[dim]landmarks: {done['why']}[/]",
                      highlight=False)
    return done
