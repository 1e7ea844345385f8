"""`f2a train-finder`: fine-tune the learned face finder on a project's own corrections; `f2a calibrate`:
refit each finder's scores from the project's accept/reject decisions.

Registered on the `f2a` app by `register(app)` at the end of cli.py (so `python -m f2a_studio.cli` has it
too); the heavy parts (torch) load only when the command runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from f2a_studio.core.errors import F2AError


def register(app: typer.Typer) -> None:
    app.command("train-finder")(train_finder_cmd)
    app.command("calibrate")(calibrate_cmd)


def calibrate_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    finder: Annotated[list[str] | None, typer.Option(help="Only this finder (repeatable; default: each one "
                                                         "whose detections a person decided on).")] = None,
    verifier_map: Annotated[bool, typer.Option("--verifier/--no-verifier", help="Also refit the project's crop "
                                               "verifier's map (--no-verifier: leave it as it is).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was fitted as JSON on stdout.")] = False,
) -> None:
    """Refit each finder's score calibration from the project's accepted and rejected detections, so the one
    threshold means "a person here would accept it" for every finder; writes
    PROJECT/checkpoints/calibration-<finder>.json (used by f2a detect, f2a faces --project and the studio).
    Then the project's crop verifier's map, from its held-back candidates and the verified decisions
    (calibration-verifier-learned.json), and each title's own verifier's from that title's cuts. Exit
    status 2 when nothing had enough decisions (the message says how many more)."""
    from f2a_studio.cli import _fail, console, open_store  # here: cli.py imports this module
    from f2a_studio.core.search_path import model_search_path
    from f2a_studio.detect.finders import FINDERS, load_finders
    from f2a_studio.detect.finders.project_calibration import fit_project_calibration, is_decided_detection
    from f2a_studio.detect.verifiers.learned import LearnedVerifier
    from f2a_studio.detect.verifiers.recalibrate import own_verifier_titles, refit_project_verifier, refit_summary

    fitted, skipped = [], []
    try:
        with open_store(project, read_only=True) as store:  # writes only checkpoint files: works beside the studio
            decided = sorted({f.finder for f in store.all_faces() if f.finder and is_decided_detection(f)})
            names = list(dict.fromkeys(finder)) if finder else decided
            unknown = [n for n in names if n not in FINDERS]
            if unknown:
                raise F2AError(f"unknown face finder {', '.join(map(repr, unknown))}; known: {', '.join(FINDERS)}")
            if not names:
                raise F2AError(f"{project}: no detection has been accepted or rejected yet; review some first")
            folders = model_search_path(store.root)
            for name in names:
                if not FINDERS[name].available(folders):
                    skipped.append({"finder": name, "why": f"{name}'s model files are not on the search path"})
                    continue
                loaded = load_finders([name], folders)[0]
                model = loaded.model_file()
                try:
                    fitted.append(fit_project_calibration(store, name, model.sha256 if model else "",
                                                          model.name if model else ""))
                except F2AError as exc:
                    skipped.append({"finder": name, "why": str(exc)})
            verifier, title_verifiers = None, []
            # after the finders: the verifiers read their new maps; the project's, then each title's own
            scopes: list[str | None] = []
            if verifier_map:
                scopes = [None] if LearnedVerifier.folders([store.checkpoints_dir]) else []
                scopes += sorted(own_verifier_titles(store))
            for title in scopes:
                try:
                    refitted = refit_project_verifier(store, folders, title)
                except F2AError as exc:
                    where = f"title {title}'s crop verifier" if title else "crop verifier"
                    skipped.append({"verifier": "learned", "title": title, "why": f"{where}: {exc}"})
                    continue
                if title is None:
                    verifier = refitted
                else:
                    title_verifiers.append(refitted)
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps({"fitted": fitted, "verifier": verifier, "title_verifiers": title_verifiers,
                          "skipped": skipped}, ensure_ascii=False))
    for item in fitted:
        fit = item["calibration"]["fitted_from"]
        console.print(f"{item['finder']}: fitted on {fit['positives']} accepted and {fit['negatives']} rejected "
                      f"detection(s) → {escape(item['file'])}", highlight=False, soft_wrap=True)
    for item in ([verifier] if verifier else []) + title_verifiers:
        held = item["fitted_from"]["held_back"]
        console.print(f"{escape(refit_summary(item))} and the {held['faces'] + held['others']} held-back "
                      f"candidates → {escape(item['file'])}", highlight=False, soft_wrap=True)
    for item in skipped:
        console.print(f"[yellow]skipped[/] {escape(item['why'])}", highlight=False, soft_wrap=True)
    if not fitted and not verifier and not title_verifiers:
        raise typer.Exit(2)


def train_finder_cmd(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    title: Annotated[str | None, typer.Option(help="Only this title's cuts (a model for that title).")] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps of the finder and of the verifier (default: "
                                                   "the finder's grow with the faces, the verifier's 400).")] = None,
    verifier: Annotated[bool, typer.Option(help="Also train the crop verifier (--no-verifier: the finder only, "
                                                "and an old verifier is removed).")] = True,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: every core).")] = None,
    min_faces: Annotated[int | None, typer.Option(help="Refuse with fewer faces than this.", hidden=True)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model card as JSON on stdout.")] = False,
) -> None:
    """Fine-tune the learned finder on the project's accepted and hand-drawn faces (rejected detections
    and unboxed areas of reviewed cuts are the negatives), then train the crop verifier that re-scores
    every candidate on the same cuts; writes PROJECT/checkpoints/finder-learned.* and verifier-learned.*
    with metrics on held-back cuts. Interrupted (Ctrl-C), it resumes where it stopped when run again."""
    import torch

    from f2a_studio.cli import _fail, console, open_store, progress_bar, progress_callback  # cli imports us
    from f2a_studio.detect.finders.learned_project import MIN_FACES, FinetuneOptions, finetune_project

    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))
    options = FinetuneOptions(title=title, steps=steps, min_faces=MIN_FACES if min_faces is None else min_faces,
                              verifier=verifier)
    try:
        with open_store(project, read_only=True) as store, progress_bar() as bar:
            on_progress = progress_callback(bar, bar.add_task("training finder", total=None, current=""))
            try:
                card = finetune_project(store, options, progress=on_progress)
            except KeyboardInterrupt:
                console.print("interrupted: run the same command again to resume", highlight=False)
                raise typer.Exit(130) from None
            if card.get("interrupted"):
                console.print("interrupted: run the same command again to resume", highlight=False)
                raise typer.Exit(130)
    except F2AError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps(card, ensure_ascii=False))
        return
    m = card["metrics_iou_0.3"]
    after, before = m["held_back_after"], m["held_back_before"]
    console.print(f"trained on {card['data']['train_faces']} face(s) of {card['data']['train_cuts']} cut(s) in "
                  f"{card['train']['seconds']:.0f} s → {escape(str(card['files'][0]))}", highlight=False)
    if after:
        console.print(f"held-back cuts ({after['faces']} faces): recall {before['recall']:.2f} → "
                      f"{after['recall']:.2f}, precision {before['precision']:.2f} → {after['precision']:.2f} "
                      f"at score ≥ 0.3", highlight=False)
    _print_verifier(card.get("verifier") or {})


def _print_verifier(summary: dict) -> None:
    from f2a_studio.cli import console

    if not summary.get("trained"):
        console.print(f"crop verifier not trained: {escape(summary.get('why', 'turned off'))}", highlight=False)
        return
    state = "on" if summary["on_by_default"] else "[yellow]off[/]"
    console.print(f"crop verifier {state} ({escape(summary['why'])}) → {escape(summary['files'][0])}",
                  highlight=False, soft_wrap=True)
    if "refine" in summary:  # cards before the box head have no word on it
        moves = "moves boxes" if summary["refine"] else "[yellow]keeps the finders' boxes[/]"
        console.print(f"  its box head {moves} ({escape(summary['refine_why'])})", highlight=False, soft_wrap=True)
