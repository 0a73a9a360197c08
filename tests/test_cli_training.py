"""The train, evaluate, predict, summary, models, datasets and lr-find commands, run for real."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.cli import main
from cnnlab.data import MNISTSample


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short real training run on the embedded sample, shared by the tests below."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet", "--val-split", "0.1"]) == 0
    return out


def test_train_writes_model_checkpoint_log_and_curves(trained, capsys):
    for name in ("model.safetensors", "checkpoint.safetensors", "log.csv", "curves.png"):
        assert (trained / name).is_file()
    info = cnnlab.io.read_info(trained / "model.safetensors")
    assert info["model"] == "lenet5" and info["input_shape"] == [1, 28, 28] and len(info["classes"]) == 10


def test_train_prints_where_things_went(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--epochs", "1", "--out", tmp_path, "--model", "mnist_cnn",
                         "--batch-size", "128")
    assert code == 0, err
    assert "epoch 1/1:" in out and "val_accuracy=" in out
    assert f"model: {tmp_path / 'model.safetensors'}" in out and "test accuracy" in out


def test_evaluate_json(trained, capsys):
    code, out, _ = run(capsys, "evaluate", trained / "model.safetensors", "--json")
    report = json.loads(out)
    assert code == 0 and report["accuracy"] > 0.8 and report["loss"] > 0 and report["samples"] == 1000
    assert np.array(report["confusion_matrix"]).sum() == 1000
    code, out, _ = run(capsys, "evaluate", trained / "model.safetensors")
    assert "per-class accuracy" in out and "confusion matrix" in out


def test_predict_images_of_any_size_and_colour(trained, tmp_path, capsys):
    digits = MNISTSample(train=False)
    seven = digits.data[digits.targets == 7][0, 0]
    dark_on_light = Image.fromarray(255 - seven).resize((90, 90)).convert("RGB")  # a "photo" of a 7
    dark_on_light.save(tmp_path / "seven.jpg")
    Image.fromarray(digits.data[digits.targets == 2][0, 0]).save(tmp_path / "two.png")
    code, out, err = run(capsys, "predict", trained / "model.safetensors", tmp_path / "seven.jpg",
                         tmp_path / "two.png", "--top-k", "3", "--json")
    assert code == 0, err
    results = json.loads(out)["results"]
    assert [r["predictions"][0]["class"] for r in results] == ["7 - seven", "2 - two"]
    assert len(results[0]["predictions"]) == 3
    code, out, _ = run(capsys, "predict", trained / "model.safetensors", tmp_path / "two.png")
    assert out.startswith(str(tmp_path / "two.png") + ": 2 - two (")


def test_resume_continues_to_the_uninterrupted_weights(tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["--epochs", "2", "--model", "mnist_cnn", "--batch-size", "256", "--quiet", "--seed", "4"]
    assert main(["train", *common, "--out", str(straight)]) == 0
    assert main(["train", "--epochs", "1", *common[2:], "--out", str(split)]) == 0
    assert main(["train", *common, "--out", str(split), "--resume"]) == 0
    a = cnnlab.load(straight / "model.safetensors").state_dict()
    b = cnnlab.load(split / "model.safetensors").state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key].array, b[key].array)
    assert (split / "log.csv").read_text().count("\n") == 3  # header + one row per epoch


def test_summary_models_datasets(capsys, trained):
    code, out, _ = run(capsys, "summary", "lenet5")
    assert code == 0 and "Total params: 61,706" in out and "Total mult-adds: 416,520" in out
    code, out, _ = run(capsys, "summary", "tiny_vgg", "--input-shape", "3", "32", "32")
    assert code == 0 and "(1, 10, 5, 5)" in out
    code, out, _ = run(capsys, "summary", trained / "model.safetensors")
    assert code == 0 and "Total params: 61,706" in out
    code, out, _ = run(capsys, "models")
    assert code == 0 and out.count("\n") == len(cnnlab.models.names()) and "keras_mnist_convnet" in out
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "mnist-sample" in out and "folder:PATH" in out


def test_lr_find_suggests_and_plots(tmp_path, capsys):
    code, out, err = run(capsys, "lr-find", "--steps", "30", "--out", tmp_path / "lr.png", "--batch-size", "32")
    assert code == 0, err
    assert "suggested learning rate:" in out and (tmp_path / "lr.png").stat().st_size > 1000


def test_train_on_a_folder_of_images(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, value in (("dark", 40), ("light", 210)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(12):  # photos of mixed sizes and colours: read at the model's 1x28x28
            pixels = np.clip(rng.normal(value, 20, (20 + 4 * i, 30, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / name / f"{i}.png")
    code, out, err = run(capsys, "train", "--dataset", f"folder:{tmp_path / 'data'}", "--epochs", "2",
                         "--batch-size", "8", "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    info = cnnlab.io.read_info(tmp_path / "run" / "model.safetensors")
    assert info["classes"] == ["dark", "light"] and info["input_shape"] == [1, 28, 28]


@pytest.mark.parametrize("argv,message", [
    (["train", "--epochs", "0"], "--epochs: expected a positive int, got '0'"),
    (["train", "--val-split", "1.5"], "--val-split: expected a fraction in [0, 1), got '1.5'"),
    (["train", "--model", "lenet"], "unknown model 'lenet'; did you mean lenet5"),
    (["train", "--dataset", "mnsit"], "unknown dataset 'mnsit'; did you mean mnist"),
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent-dir"], "add --download to fetch them"),
    (["train", "--dataset", "folder:/nonexistent-dir"], "does not exist"),
    (["evaluate", "missing.safetensors"], "model file 'missing.safetensors' does not exist"),
    (["summary", "resnet"], "unknown model 'resnet'"),
    (["summary", "lenet5", "--input-shape", "1", "0", "28"], "sizes must be positive"),
    (["train", "--optimizer", "adagrad"], "invalid choice: 'adagrad'"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, message, capsys, tmp_path):
    code, out, err = run(capsys, *argv, *(["--out", tmp_path] if argv[0] == "train" else []))
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_resume_without_checkpoint_and_non_image_predict(tmp_path, trained, capsys):
    code, _, err = run(capsys, "train", "--resume", "--out", tmp_path / "empty")
    assert code == 2 and "--resume: no checkpoint to resume from" in err
    (tmp_path / "notes.png").write_text("not an image")
    code, _, err = run(capsys, "predict", trained / "model.safetensors", tmp_path / "notes.png")
    assert code == 2 and "notes.png': not an image format Pillow knows" in err and err.count("\n") == 1
    code, _, err = run(capsys, "predict", trained / "model.safetensors", tmp_path / "none.png")
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "evaluate", tmp_path / "notes.png")
    assert code == 2 and "not a readable cnnlab/safetensors file" in err


def test_the_installed_command_runs():
    done = subprocess.run(["cnnlab", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"cnnlab {cnnlab.__version__}"
    done = subprocess.run([sys.executable, "-m", "cnnlab", "train", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--resume        # continue an interrupted run" in done.stdout
    done = subprocess.run([sys.executable, "-m", "cnnlab", "train", "--epochs", "x"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
