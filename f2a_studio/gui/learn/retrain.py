"""Retrain the project's models from the studio, then re-predict what no person set. One job for the
studio's JobRunner (`retrain_job`): plain Python, no Qt. The studio's Learn menu starts it
(gui/learn/retrain_menu.py); tests/test_gui_retrain.py runs it end to end on tiny projects.

The trainers are the `f2a` commands, run as subprocesses (they use several cores for minutes, may crash,
and belong to other modules: only their command lines are relied on). Each says itself when the project
has too few labels (exit status 2 and a message): that step is skipped with its message, the rest go on.
`f2a calibrate` runs only where it exists (in the `f2a` command table). Then, in this process:

* cuts no person touched (no human face, no human edit in the log: a deleted false hit counts) are
  detected again when the finder or its calibration changed (`detect_images`: worker processes); on the
  others, each unreviewed verified detection gets the score the project's verifier and its map give it now
  (verifiers/recalibrate.rescore_unreviewed), so the one threshold means the same on every cut;
* every other unreviewed face gets its sex predicted again when the sex classifier was trained, and its
  landmarks refitted when the landmark model was trained or the face's predicted sex (the fit's prior)
  changed, except the fields a person set (provenance), written with actor "model". A field whose model
  was not retrained is left as it was: a retrain of one model does not rewrite the others' output;
* the review queue's landmark disagreement is measured afresh (detect.review_signals).

Nothing a person set is touched: re-detection keeps human work (store.replace_detections), predictions
skip human fields, and a face the person edits meanwhile wins (its revision changed: it is skipped).
Cancel stops the running trainer (SIGINT to its process group, so a trainer saves its resume state;
killed after a grace period) and ends between faces; what was written stays consistent (one transaction
per face or cut). The report passed in is filled as the job goes, so a cancelled run still says what it did.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from f2a_studio.core import progress_lines
from f2a_studio.core.jobs import CancelToken
from f2a_studio.core.store import ProjectStore

ProgressFn = Callable[[int, int, str], None]

TRAINERS = (("finder", "train-finder"), ("sex", "train-sex"), ("landmarks", "train-landmarks"))
TRAINER_NAMES = tuple(name for name, _ in TRAINERS)
OWN_STEPS = (*TRAINER_NAMES, "calibrate")  # steps that are subprocesses with a message of their own
STAGES = ("finder", "sex", "landmarks", "calibrate", "redetect", "repredict", "signals")
STOP_GRACE_S = 10.0  # after SIGINT, how long a trainer gets to save its resume state before it is killed
POLL_S = 0.25


def default_threads() -> int:
    return max(1, (os.cpu_count() or 1) - 1)  # one core stays for the window (DESIGN: Jobs)


@dataclass(frozen=True)
class RetrainOptions:
    steps: int | None = None  # training steps for every trainer (None: each one's default)
    min_faces: int | None = None  # each trainer's minimum (None: its own); tests use tiny projects
    threads: int = field(default_factory=default_threads)
    env: Mapping[str, str] = field(default_factory=dict)  # added to the trainers' environment
    detect_options: Any = None  # detect.DetectOptions for the re-detection (None: defaults)
    calibrate: bool = True  # run `f2a calibrate` when it exists (with the finder, or with no trainer at all)
    models: tuple[str, ...] = TRAINER_NAMES  # which trainers run; none: recalibrate only

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in TRAINER_NAMES]
        if unknown or not (self.models or self.calibrate):
            raise ValueError(f"RetrainOptions.models: unknown {unknown or 'empty (and no calibration)'}; known: "
                             f"{', '.join(TRAINER_NAMES)}")
        for name in ("steps", "min_faces"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"RetrainOptions.{name} must be at least 1, got {value}")
        if self.threads < 1:
            raise ValueError(f"RetrainOptions.threads must be at least 1, got {self.threads}")


@dataclass
class StepOutcome:
    name: str
    state: str  # trained | skipped | failed | done | not run
    message: str = ""

    def text(self) -> str:
        return f"{self.name}: {self.state}" + (f" ({self.message})" if self.message else "")


@dataclass
class RetrainReport:
    steps: list[StepOutcome] = field(default_factory=list)
    redetected: list[int] = field(default_factory=list)  # image ids
    repredicted: list[int] = field(default_factory=list)  # face ids whose predictions changed
    kept_human: int = 0  # unreviewed faces whose human-set fields were left alone

    def state(self, name: str) -> str:
        return next((s.state for s in self.steps if s.name == name), "not run")

    def trained(self) -> list[str]:
        return [s.name for s in self.steps if s.state == "trained"]

    def summary(self) -> str:
        return "; ".join(s.text() for s in self.steps)

    def text(self, *, cancelled: bool = False) -> str:
        """What the studio shows when the job ends: what was trained, what was skipped and why (each
        trainer's own message), what was re-predicted."""
        trained = [s for s in self.steps if s.name in TRAINER_NAMES and s.state == "trained"]
        trainers_ran = any(s.name in TRAINER_NAMES for s in self.steps)
        head = "Retrain" if trainers_ran or self.state("calibrate") == "not run" else "Recalibration"
        lines = [f"{head} cancelled." if cancelled else f"{head} finished."]
        if trained:
            lines.append("Trained: " + ", ".join(s.name + (f" ({s.message})" if s.message else "") for s in trained))
        elif not cancelled and trainers_ran:
            lines.append("No model was trained.")
        lines += [f"calibrate: {s.message}" for s in self.steps if s.name == "calibrate" and s.state == "done"
                  and s.message]
        for s in self.steps:
            if s.state in ("skipped", "failed") and s.name in OWN_STEPS:
                lines.append(f"{s.name} {s.state}: {s.message}")
        lines += [f"{s.name}: {s.message}" for s in self.steps if s.name not in OWN_STEPS
                  and s.state == "done"]
        if cancelled:
            lines.append("What was written before the cancel is kept; nothing is half-written.")
        return "\n".join(lines)


# ---------------------------------------------------------------- subprocesses


def f2a_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "f2a_studio.cli", *args]


def _source_root() -> Path | None:
    """The folder holding this f2a_studio when it is a source checkout (not site-packages)."""
    root = Path(__file__).resolve().parents[3]
    return None if root.name in ("site-packages", "dist-packages") else root


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    # wide lines: the trainers' messages come back unwrapped, and no colour codes in them
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
    source = _source_root()
    if source is not None:  # the trainers run this f2a_studio (an editable install may point elsewhere)
        env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**env, **extra}


def run_command(args: Sequence[str], cancel: CancelToken, env: Mapping[str, str],
                cwd: Path | None = None, on_progress: ProgressFn | None = None) -> tuple[int, str, str]:
    """Run to the end or until cancelled (then raise JobCancelled after stopping the process).
    `cwd`: the project folder, so `python -m` never picks up a package from wherever the studio started.
    `on_progress`: called, in this thread, with the newest progress line the command wrote on stderr
    (core.progress_lines); those lines are left out of the stderr returned."""
    cancel.raise_if_cancelled()
    proc = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env({**env, progress_lines.ENV: "1"} if on_progress else env), cwd=cwd,
                            start_new_session=True)
    out: list[str] = []
    err: list[str] = []
    newest: list[progress_lines.ProgressLine] = []  # written by the stderr reader, taken by the loop below
    lock = threading.Lock()

    def read_err() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            parsed = progress_lines.parse_line(line.rstrip("\n"))
            if parsed is None:
                err.append(line)
            else:
                with lock:
                    newest[:] = [parsed]

    readers = [threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True),  # type: ignore[arg-type]
               threading.Thread(target=read_err, daemon=True)]
    for reader in readers:
        reader.start()

    def forward() -> None:
        with lock:
            taken = newest[:]
            newest.clear()
        if taken and on_progress is not None:
            on_progress(taken[0].done, taken[0].total or 0, taken[0].text)

    try:
        while True:
            try:
                proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                forward()  # the job's progress callback may itself raise JobCancelled
                cancel.raise_if_cancelled()
    finally:
        if proc.poll() is None:  # cancelled, or anything else raised here: the command must not run on
            _stop(proc)
        for reader in readers:
            reader.join()
    forward()
    return proc.returncode, "".join(out), "".join(err)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    # the whole session: a trainer's own worker processes stop with it
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _stop(proc: subprocess.Popen) -> None:
    _signal_group(proc, signal.SIGINT)  # the trainers save their resume state on Ctrl-C
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()


def command_exists(name: str) -> bool:
    """Whether `f2a NAME` is a command, read from the command table (typer, no torch) rather than by starting
    `f2a NAME --help`: a Python start costs seconds on a busy machine, for every retrain."""
    import typer.main

    from f2a_studio.cli import app

    return name in typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _last_message(out: str, err: str) -> str:
    lines = [ln.strip() for ln in (err + "\n" + out).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error:")]
    text = (errors or lines or ["no output"])[-1]
    return text.removeprefix("error:").strip()


def _card(out: str) -> dict | None:
    for line in reversed(out.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _train_summary(card: dict | None) -> str:
    if not card:
        return ""
    faces = card.get("data", {}).get("train_faces")
    text = f"{faces} face(s)" if faces is not None else ""
    verifier = card.get("verifier")
    if isinstance(verifier, dict):  # train-finder's crop verifier (detect/verifiers/project.py)
        state = ("crop verifier on" if verifier.get("on_by_default") else "crop verifier off") \
            if verifier.get("trained") else "no crop verifier"
        if verifier.get("trained") and verifier.get("on_by_default") and verifier.get("refine"):
            state += ", moving boxes"
        text = f"{text}; {state}" if text else state
    return text


def trainer_args(command: str, project: Path, options: RetrainOptions) -> list[str]:
    args = [command, str(project), "--threads", str(options.threads), "--json"]
    if command == "train-sex":
        args.append("--no-predict")  # the re-predict step below predicts, for unreviewed faces only
    if options.steps is not None:
        args += ["--steps", str(options.steps)]
    if options.min_faces is not None:
        args += ["--min-faces", str(options.min_faces)]
    return f2a_command(*args)


def calibrate_outcome(rc: int, out: str, err: str) -> StepOutcome:
    """`f2a calibrate --json`'s result: done with what was refitted on how many decisions and what was
    skipped, or skipped / failed like a trainer (its message is on stderr)."""
    if rc:
        return outcome_of("calibrate", rc, "", err)
    report = _card(out) or {}
    said = [f"{f['finder']} on {f['calibration']['fitted_from']['positives']} accepted and "
            f"{f['calibration']['fitted_from']['negatives']} rejected" for f in report.get("fitted", [])]
    from f2a_studio.detect.verifiers.recalibrate import refit_summary

    verifiers = ([report["verifier"]] if report.get("verifier") else []) + report.get("title_verifiers", [])
    said += [refit_summary(item) for item in verifiers]
    said += [f"skipped {s['why']}" for s in report.get("skipped", [])]
    return StepOutcome("calibrate", "done", "; ".join(said))


def outcome_of(name: str, rc: int, out: str, err: str) -> StepOutcome:
    if rc == 0:
        return StepOutcome(name, "trained", _train_summary(_card(out)))
    if rc == 2:  # the command refused with its own message (too few labels, read-only project…)
        return StepOutcome(name, "skipped", _last_message(out, err))
    return StepOutcome(name, "failed", f"exit {rc}: {_last_message(out, err)}")


# ---------------------------------------------------------------- what may be re-detected


def touched_cuts(store: ProjectStore) -> set[int]:
    """Cuts with any human work: a face a person drew or set a field of, or any human edit in the log
    (a false hit the person deleted must not come back)."""
    rows = store.query("SELECT DISTINCT image_id FROM faces WHERE source = 'human' OR human_fields != '[]' "
                       "UNION SELECT DISTINCT image_id FROM edits WHERE actor = 'human' AND image_id IS NOT NULL")
    return {int(r[0]) for r in rows}


def untouched_cuts(store: ProjectStore) -> list[int]:
    touched = touched_cuts(store)
    return [r.id for r in store.images() if r.id not in touched]


# ---------------------------------------------------------------- the job


def retrain_job(store: ProjectStore, options: RetrainOptions | None = None,
                report: RetrainReport | None = None) -> Callable[[ProgressFn, CancelToken], RetrainReport]:
    """The whole retrain as a JobRunner job: `fn(progress, cancel) -> RetrainReport`. `report`, when
    given, is the one filled in (the caller can read it after a cancel); it must be fresh."""
    opts = options or RetrainOptions()
    report = report if report is not None else RetrainReport()
    if report.steps:
        raise ValueError("retrain_job: the report passed in already holds steps; give a fresh RetrainReport")
    root = store.root

    def run(progress: ProgressFn, cancel: CancelToken) -> RetrainReport:
        total = len(STAGES)

        def stage(i: int, text: str) -> None:
            progress(i, total, text)

        for i, (name, command) in enumerate(TRAINERS):
            if name not in opts.models:
                continue
            stage(i, f"training the {name} model")

            def trainer_progress(done: int, of: int, text: str, i: int = i, name: str = name) -> None:
                steps = f"{done}/{of}" if of else f"{done}"
                stage(i, f"training the {name} model: {steps}" + (f", {text}" if text else ""))

            rc, out, err = run_command(trainer_args(command, root, opts), cancel, opts.env, root, trainer_progress)
            report.steps.append(outcome_of(name, rc, out, err))
        if opts.calibrate and ("finder" in opts.models or not opts.models) and command_exists("calibrate"):
            stage(3, "calibrating the scores from review decisions")
            rc, out, err = run_command(f2a_command("calibrate", str(root), "--json"), cancel, opts.env, root)
            report.steps.append(calibrate_outcome(rc, out, err))
        redetect = report.state("finder") == "trained" or report.state("calibrate") == "done"
        untouched = untouched_cuts(store) if redetect else []
        if untouched:
            stage(4, f"re-detecting {len(untouched)} untouched cut(s)")
            from f2a_studio.detect import detect_images

            def on_detect(*args: Any) -> None:
                done = next((a for a in args if isinstance(a, int)), 0)
                progress(4, total, f"re-detecting cuts ({done}/{len(untouched)})")

            detected = detect_images(store, untouched, opts.detect_options, on_detect, cancel)
            cancel.raise_if_cancelled()  # a stopped detection wrote whole cuts only; the rest keep their faces
            report.redetected = untouched[: detected.done]
            report.steps.append(StepOutcome("re-detect", "done", f"{detected.done} cut(s), {detected.faces} face(s)"))
        if redetect:  # cuts a person touched keep their detections: their scores move to the new scale
            from f2a_studio.core.search_path import model_search_path
            from f2a_studio.detect.verifiers.recalibrate import rescore_unreviewed

            kept = sorted({r.id for r in store.images()} - set(untouched))
            stage(4, f"re-scoring unreviewed faces on {len(kept)} cut(s) a person touched")
            rescored = rescore_unreviewed(store, model_search_path(root), kept, lambda: cancel.cancelled)
            cancel.raise_if_cancelled()
            if rescored:
                report.steps.append(StepOutcome("re-score", "done", f"{len(rescored)} unreviewed face(s) on cuts "
                                                "a person touched"))
        new_sex, new_landmarks = report.state("sex") == "trained", report.state("landmarks") == "trained"
        if new_sex or new_landmarks:
            redetected = set(report.redetected)
            rest = [r.id for r in store.images() if r.id not in redetected]
            stage(5, "re-predicting unreviewed faces")
            from f2a_studio.detect.repredict import repredict_faces

            done = repredict_faces(store, rest, lambda d, t, text: progress(5, total, text), cancel,
                                   sex=new_sex, landmarks=new_landmarks)
            report.repredicted += done.changed
            report.kept_human += done.kept_human
            report.steps.append(StepOutcome("re-predict", "done", f"{len(report.repredicted)} face(s) changed, "
                                            f"{report.kept_human} with fields a person set kept"))
        else:
            report.steps.append(StepOutcome("re-predict", "skipped", "no new model"))
        stage(6, "measuring landmark disagreement")
        from f2a_studio.detect.review_signals import measure_project

        measured = measure_project(store, should_stop=lambda: cancel.cancelled)
        cancel.raise_if_cancelled()
        report.steps.append(StepOutcome("queue", "done", f"landmark disagreement on {measured['faces']} face(s)"))
        progress(total, total, "done")
        return report

    return run
