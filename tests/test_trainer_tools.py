"""Using a trained run: `f2a train` on a real export, `f2a translate`, ONNX export matching torch, loss plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_export_data import project_fixture  # noqa: F401  (fixture)
from trainer_data import paired_export, tiny, unpaired_export
from typer.testing import CliRunner

from f2a_studio.cli import app
from f2a_studio.core.store import ProjectStore
from f2a_studio.export import ExportOptions, plan_export, run_export
from trainer.cli import main as trainer_main
from trainer.loop import train
from trainer.plot import plot_run

torch.set_num_threads(1)
runner = CliRunner()


def test_f2a_train_and_translate_on_a_real_export(project, tmp_path):
    with ProjectStore.open(project.root, read_only=True) as store:
        run_export(plan_export(store, ExportOptions(format="pix2pix", size=64)), tmp_path / "exp")
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tmp_path / "exp"), "--out", str(run), "--preset", "pix2pix-fast-cpu",
                                 "--max-steps", "2", "--threads", "1", "--set", "ngf=8", "--set", "ndf=8",
                                 "--set", "crop_size=64", "--set", "load_size=72", "--set", "net_g=\"unet\"",
                                 "--set", "unet_downs=6", "--set", "log_every=1"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["ngf"] == 8
    assert len((run / "log.csv").read_text().splitlines()) == 3  # header + 2 steps
    grid = Image.open(next((run / "samples").glob("*.png")))
    assert grid.width == 3 * 64 + 2 * 2  # input | output | target
    inputs = sorted((tmp_path / "exp" / "test").glob("*.png"))[:2]
    result = runner.invoke(app, ["translate", str(run), *map(str, inputs), "--out", str(tmp_path / "tr"), "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert [p.rsplit("/", 1)[1] for p in written] == [p.name for p in inputs]
    assert Image.open(written[0]).size == (64, 64)
    bad = runner.invoke(app, ["translate", str(tmp_path / "nope"), str(inputs[0]), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "no such checkpoint" in bad.output


def test_bad_data_gives_a_clear_cli_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = trainer_main(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r"), "--no-bar"])
    assert code == 2
    assert "not an F2A export: manifest.json is missing" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tools")
    root = paired_export(tmp / "data", n=2)
    return train(root, tiny(max_steps=3), tmp / "run", show_bar=False)


def test_onnx_export_matches_torch(small_run, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from trainer.onnx_export import max_difference

    out = tmp_path / "g.onnx"
    assert trainer_main(["export-onnx", str(small_run.checkpoint.record), str(out)]) == 0
    inputs = np.random.default_rng(0).uniform(-1, 1, (3, 3, 32, 32)).astype(np.float32)
    assert max_difference(small_run.checkpoint.record, out, inputs) < 1e-4


def test_onnx_export_of_the_ugatit_generator_matches_torch(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from trainer.onnx_export import export_onnx, max_difference

    run = train(unpaired_export(tmp_path / "data", n=2), tiny("ugatit", max_steps=1), tmp_path / "run",
                show_bar=False)
    out = export_onnx(run.checkpoint.record, tmp_path / "g.onnx")
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32)
    assert max_difference(run.checkpoint.record, out, inputs) < 1e-4  # CAM, AdaLIN and ILN as plain ONNX ops


def test_plot_draws_every_loss_curve(small_run, tmp_path):
    out = plot_run(small_run.run, tmp_path / "losses.png")
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[0] >= 4 * 100  # a panel per loss
    assert (image < 128).any()  # something drawn


def test_plot_without_matplotlib_draws_with_opencv(small_run, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    out = plot_run(small_run.run, tmp_path / "cv.png")
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (4 * 160, 800, 3)
    coloured = (np.abs(image.astype(int) - image.mean(axis=2, keepdims=True)) > 30).any(axis=2)
    assert coloured.sum() > 50  # the curves are drawn in colour
