"""`f2a train` and `f2a translate`: thin shells over the trainer package (imported inside the commands, so
`f2a info` does not pay for torch). cli.py calls `register(app)` once, at its end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("translate")(translate_cmd)


def train_cmd(
    data: Annotated[Path, typer.Argument(help="An export folder (pix2pix / concat4 for pix2pix, cyclegan else).")],
    out: Annotated[Path, typer.Option("--out", help="Run folder: config, log.csv, samples/, checkpoints/.")],
    preset: Annotated[str, typer.Option(help="pix2pix | pix2pix-fast-cpu | cyclegan | cyclegan-fast-cpu | "
                                             "unit-light | ugatit-light")] = "pix2pix-fast-cpu",
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps (resumable).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda | mps")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Any config field, KEY=VALUE (repeatable).")] = None,
) -> None:
    """Train a generator on an export (same as `python -m trainer train`; torchrun for several processes)."""
    from trainer.cli import main

    argv = ["train", "--data", str(data), "--out", str(out), "--preset", preset]
    for flag, value in (("--max-steps", max_steps), ("--device", device), ("--threads", threads)):
        if value is not None:
            argv += [flag, str(value)]
    for item in set_ or []:
        argv += ["--set", item]
    if resume:
        argv.append("--resume")
    code = main(argv)
    if code:
        raise typer.Exit(code)


def translate_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="A run folder, a checkpoint .json or its .safetensors.")],
    inputs: Annotated[list[Path], typer.Argument(help="Images or folders: keypoint drawings, faces, A|B pairs.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the translated images (NAME.png).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the written paths as JSON.")] = False,
) -> None:
    """Apply a trained generator to images or keypoint drawings."""
    from trainer.checkpoint import CheckpointError
    from trainer.cli import translate_files

    try:
        written = translate_files(checkpoint, inputs, out)
    except (CheckpointError, FileNotFoundError, OSError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps([str(p) for p in written]))
    else:
        console.print(f"translated {len(written)} image(s) into {out}")
