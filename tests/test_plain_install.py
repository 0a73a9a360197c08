"""A plain ``pip install cnnlab``, no extras, runs every command: no traceback; plots skipped or refused in one line.

One virtual environment for the module, without matplotlib or h5py: cnnlab is
installed into it from a copy of this source tree (so the build leaves nothing
in the checkout), and each command runs for real in a subprocess there.
"""
import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import MNISTSample

ROOT = Path(__file__).resolve().parents[1]
VIZ_MISSING = "plots need matplotlib, which is not installed: pip install 'cnnlab[viz]'"


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """``(bin folder, work folder)`` of a fresh virtual environment holding cnnlab and its core dependencies only."""
    home = tmp_path_factory.mktemp("plain")
    source = home / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "venv", home / "env"], check=True, timeout=300)
    bin_folder = home / "env" / "bin"
    done = subprocess.run([bin_folder / "python", "-m", "pip", "install", "--quiet", source],
                          capture_output=True, text=True, timeout=900, env=_environment())
    assert done.returncode == 0, done.stdout + done.stderr
    work = home / "work"
    work.mkdir()
    return bin_folder, work


def _environment():
    """This process's environment without what would let the venv see this one's packages or debug switch."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "CNNLAB_DEBUG", "VIRTUAL_ENV")}


def cnnlab(venv, *argv, timeout=600):
    """Run the venv's ``cnnlab ARGV`` in its work folder; asserts that nothing printed a traceback."""
    bin_folder, work = venv
    done = subprocess.run([bin_folder / "cnnlab", *map(str, argv)], cwd=work, capture_output=True, text=True,
                          timeout=timeout, env=_environment())
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


@pytest.fixture(scope="module")
def run(venv):
    """One epoch of ``cnnlab train`` on the embedded sample; its folder and the command's output."""
    done = cnnlab(venv, "train", "--epochs", "1", "--out", "D")
    assert done.returncode == 0, done.stderr
    return venv[1] / "D", done


@pytest.fixture(scope="module")
def digit(venv):
    """A PNG of a test digit, in the venv's work folder."""
    sample = MNISTSample(train=False)
    path = venv[1] / "seven.png"
    Image.fromarray(sample.data[sample.targets == 7][0, 0]).save(path)
    return path


def test_the_environment_has_the_core_dependencies_and_no_extras(venv):
    python = venv[0] / "python"
    for module in ("matplotlib", "h5py", "torch"):
        done = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, env=_environment())
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, module
    done = subprocess.run([python, "-c", "import PIL, safetensors, tqdm, numba, scipy, cnnlab"], capture_output=True,
                          text=True, env=_environment())
    assert done.returncode == 0, done.stderr


def test_train_writes_its_files_and_skips_the_plot_in_one_line(run):
    folder, done = run
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.safetensors", "log.csv", "model.safetensors"]
    assert "epoch 1/1:" in done.stdout and "test accuracy" in done.stdout
    assert done.stdout.count(VIZ_MISSING) == 1 and f"curves: skipped ({VIZ_MISSING})\n" in done.stdout


def test_evaluate_predict_and_summary_of_the_model_file(run, digit, venv):
    model = run[0] / "model.safetensors"
    done = cnnlab(venv, "evaluate", model, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["samples"] == 1000
    done = cnnlab(venv, "predict", model, digit, "--top-k", "2")
    assert done.returncode == 0 and done.stdout.startswith(f"{digit}: ")
    done = cnnlab(venv, "summary", model)
    assert done.returncode == 0 and "Total params: 61,706" in done.stdout


def test_lr_find_skips_the_plot_in_one_line(venv):
    done = cnnlab(venv, "lr-find", "--steps", "5", "--batch-size", "16", "--out", "lr.png")
    assert done.returncode == 0, done.stderr
    assert "suggested learning rate:" in done.stdout and f"plot: skipped ({VIZ_MISSING})\n" in done.stdout
    assert not (venv[1] / "lr.png").exists()


@pytest.mark.parametrize("plot", [["kernels", "{model}"], ["features", "{model}", "{digit}"], ["curves", "{log}"],
                                  ["confusion", "lenet5"]])
def test_viz_stops_with_one_line_naming_the_extra(plot, run, digit, venv):
    names = {"model": run[0] / "model.safetensors", "log": run[0] / "log.csv", "digit": digit}
    done = cnnlab(venv, "viz", *[a.format(**names) for a in plot], "-o", "out.png")
    assert done.returncode == 2 and done.stderr == f"cnnlab viz: error: {VIZ_MISSING}\n"
    assert not (venv[1] / "out.png").exists()


def test_training_on_a_folder_of_images(venv):
    rng = np.random.default_rng(0)
    for name, value in (("dark", 40), ("light", 210)):
        (venv[1] / "photos" / name).mkdir(parents=True)
        for i in range(4):
            pixels = np.clip(rng.normal(value, 20, (20 + 4 * i, 30, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(venv[1] / "photos" / name / f"{i}.png")
    done = cnnlab(venv, "train", "--dataset", "folder:photos", "--epochs", "1", "--batch-size", "4", "--out", "F",
                  "--quiet")
    assert done.returncode == 0 and (venv[1] / "F" / "model.safetensors").is_file(), done.stderr


@pytest.mark.parametrize("argv", [
    ["models"], ["datasets"], ["summary", "lenet5"], ["shape", "--input", "28", "--kernel", "5", "--padding", "2"],
    ["convolve", "1", "2", "3", "--with", "0", "1", "0.5"],
    ["filter", "--sample", "--kernel", "edge", "--kernel", "sharpen", "-o", "filtered.png", "--grid", "grid.png"],
])
def test_the_other_commands(argv, venv):
    done = cnnlab(venv, *argv)
    assert done.returncode == 0 and done.stdout, done.stderr


def test_the_explainer_answers_api_predict(run, digit, venv):
    bin_folder, work = venv
    server = subprocess.Popen([bin_folder / "cnnlab", "explain", run[0] / "model.safetensors", "--port", "0",
                               "--no-browser"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_environment())
    try:
        ready, _, _ = select.select([server.stdout], [], [], 120)
        line = server.stdout.readline() if ready else ""
        assert " at http://127.0.0.1:" in line, line + (server.stderr.read() if server.poll() is not None else "")
        port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("POST", "/api/predict", body=digit.read_bytes(), headers={"Content-Type": "image/png"})
            response = connection.getresponse()
            answer = json.loads(response.read())
        finally:
            connection.close()
        assert response.status == 200, answer
        assert len(answer["probabilities"]) == 10 and answer["classes"][answer["prediction"]] == "7 - seven"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate()
    assert "Traceback" not in errors, errors
