"""The commands agree with each other: the same seed writes the same bytes, MODEL means the same everywhere,
option errors name the option, and the log counts epochs as the console does. Run as real processes."""
import csv
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from cnnlab.data import MNISTSample

UNTRAINED = "note: lenet5 has untrained (random) weights"


def cnnlab(*argv, cwd=None):
    """``python -m cnnlab ARGV`` in a fresh process (so dict and hash orders are the process's own)."""
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "-m", "cnnlab", *map(str, argv)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def epochs_logged(folder):
    with open(folder / "log.csv", newline="") as file:
        return [row["epoch"] for row in csv.DictReader(file)]


# ------------------------------------------------------------ reproducible
def test_the_same_command_and_seed_write_the_same_bytes(tmp_path):
    folders = [tmp_path / "first", tmp_path / "second"]
    for folder in folders:
        done = cnnlab("train", "--epochs", "1", "--seed", "3", "--out", folder, "--quiet")
        assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in folders[0].iterdir())
    assert {"model.safetensors", "checkpoint.safetensors", "log.csv"} <= set(names)
    assert names == sorted(p.name for p in folders[1].iterdir())
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_plots_hold_no_date_and_no_random_ids(tmp_path):
    pytest.importorskip("matplotlib")
    from cnnlab.viz import plot_history

    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.6, 0.4]}
    for suffix in ("png", "svg", "pdf"):
        first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
        plot_history(history, first)
        plot_history(history, second)
        assert first.read_bytes() == second.read_bytes(), suffix
    assert b"CreationDate" not in (tmp_path / "a.pdf").read_bytes()
    assert b"<dc:date>" not in (tmp_path / "a.svg").read_bytes()


# ------------------------------------------------------------ names
@pytest.fixture(scope="module")
def digit(tmp_path_factory):
    sample = MNISTSample(train=False)
    path = tmp_path_factory.mktemp("images") / "seven.png"
    Image.fromarray(sample.data[sample.targets == 7][0, 0]).save(path)
    return path


def test_predict_takes_a_zoo_name_as_viz_and_explain_do(digit):
    done = cnnlab("predict", "lenet5", digit, "--top-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]  # stdout stays pure JSON: the notice goes to stderr
    assert len(result["predictions"]) == 3 and result["predictions"][0]["class"].split(" - ")[0].isdigit()
    assert done.stderr.startswith(UNTRAINED) and done.stderr.count("\n") == 1


def test_evaluate_takes_a_zoo_name_on_the_embedded_sample():
    done = cnnlab("evaluate", "lenet5", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["samples"] == 1000 and report["classes"][0] == "0 - zero"
    assert done.stderr.startswith(UNTRAINED)


@pytest.mark.parametrize("argv", [["evaluate", "lenet"], ["predict", "lenet", "x.png"]])
def test_a_model_that_is_neither_file_nor_zoo_name(argv, tmp_path):
    done = cnnlab(*argv, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (f"cnnlab {argv[0]}: error: model file 'lenet' does not exist, nor is it a zoo model name "
                           f"(see 'cnnlab models')\n")


@pytest.mark.parametrize("command", ["train", "lr-find"])
@pytest.mark.parametrize("value", ["-5", "x", "1.5"])
def test_a_bad_seed_is_refused_naming_seed(command, value, tmp_path):
    done = cnnlab(command, "--seed", value, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"cnnlab {command}: error: argument --seed: expected a non-negative int, got '{value}'" in done.stderr
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------ epochs
def test_the_log_counts_epochs_as_the_console_does_and_resuming_goes_on(tmp_path):
    common = ["--model", "mnist_cnn", "--batch-size", "256", "--out", tmp_path]
    done = cnnlab("train", "--epochs", "1", *common)
    assert done.returncode == 0 and "epoch 1/1:" in done.stdout, done.stderr
    assert epochs_logged(tmp_path) == ["1"]
    done = cnnlab("train", "--epochs", "3", "--resume", *common)
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines() if line.startswith("epoch ")] == ["epoch 2/3",
                                                                                                     "epoch 3/3"]
    assert epochs_logged(tmp_path) == ["1", "2", "3"]
