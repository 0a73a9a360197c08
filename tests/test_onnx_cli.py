"""The CLI on .onnx files: summary, predict, evaluate, and train --init, run as real commands."""
import contextlib
import io
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.data import MNISTSample

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
tnn = torch.nn


def run(*args):
    return subprocess.run([sys.executable, "-m", "cnnlab", *map(str, args)], capture_output=True, text=True)


def export(model, shape, path):
    model.eval()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False, input_names=["input"],
                          dynamic_axes={"input": {0: "batch"}})
    return path


@pytest.fixture(scope="module")
def mnist_onnx(tmp_path_factory):
    """An MNIST-shaped torch model, trained a little on the embedded sample so its accuracy means something."""
    torch.manual_seed(0)
    model = tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                           tnn.Linear(8 * 14 * 14, 10))
    data = MNISTSample(train=True)
    x, y = torch.tensor(np.asarray(data.data, dtype=np.float32) / 255).reshape(-1, 1, 28, 28), torch.tensor(
        np.asarray(data.targets, dtype=np.int64))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for start in range(0, 2000, 100):
        optimizer.zero_grad()
        tnn.functional.cross_entropy(model(x[start:start + 100]), y[start:start + 100]).backward()
        optimizer.step()
    return model.eval(), export(model, (1, 28, 28), tmp_path_factory.mktemp("onnx") / "mnist.onnx")


def test_summary_lists_the_imported_layers(mnist_onnx):
    done = run("summary", mnist_onnx[1])
    assert done.returncode == 0, done.stderr
    assert "OnnxGraph, input (1, 1, 28, 28)" in done.stdout
    assert "0 (Conv2d)" in done.stdout and "4 (Linear)" in done.stdout and "Total params: 15,770" in done.stdout


def test_predict_classifies_an_image_with_an_onnx_model(mnist_onnx, tmp_path):
    image = tmp_path / "digit.png"
    Image.fromarray(MNISTSample(train=False).data[0].reshape(28, 28)).save(image)
    done = run("predict", mnist_onnx[1], image, "--top-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    predictions = json.loads(done.stdout)["results"][0]["predictions"]
    assert len(predictions) == 3 and {p["class"] for p in predictions} <= {str(i) for i in range(10)}


def test_evaluate_scores_an_onnx_model_as_torch_does(mnist_onnx):
    model, path = mnist_onnx
    done = run("evaluate", path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    test = MNISTSample(train=False)
    x = torch.tensor(np.asarray(test.data, dtype=np.float32) / 255).reshape(-1, 1, 28, 28)
    expected = (model(x).argmax(1).numpy() == np.asarray(test.targets)).mean()
    assert report["samples"] == len(test) and report["accuracy"] == pytest.approx(expected, abs=1e-3)
    assert report["accuracy"] > 0.5


def test_train_init_fine_tunes_an_onnx_model_into_a_model_file(mnist_onnx, tmp_path):
    out = tmp_path / "run"
    done = run("train", "--init", mnist_onnx[1], "--epochs", "1", "--out", out, "--quiet", "--seed", "1")
    assert done.returncode == 0, done.stderr
    info = cnnlab.io.read_info(out / "model.safetensors")
    assert info["model"] == "mnist" and info["init"] == str(mnist_onnx[1]) and info["input_shape"] == [1, 28, 28]
    scored = run("evaluate", out / "model.safetensors", "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["accuracy"] > 0.5
    shown = run("summary", out / "model.safetensors")
    assert shown.returncode == 0 and "0 (Conv2d)" in shown.stdout


@pytest.mark.parametrize("extra,message", [
    (["--model", "lenet5"], "--init starts a new run from the model in {path}; leave out --model"),
    (["--resume"], "--init starts a new run from the model in {path}; leave out --resume"),
])
def test_train_init_refuses_model_and_resume(mnist_onnx, extra, message, tmp_path):
    done = run("train", "--init", mnist_onnx[1], "--out", tmp_path, *extra)
    assert done.returncode == 2
    assert done.stderr == f"cnnlab train: error: {message.format(path=mnist_onnx[1])}\n"


def test_train_init_refuses_a_dataset_of_another_shape_or_class_count(tmp_path):
    rgb = export(tnn.Sequential(tnn.Flatten(), tnn.Linear(3 * 8 * 8, 10)), (3, 8, 8), tmp_path / "rgb.onnx")
    done = run("train", "--init", rgb, "--out", tmp_path / "a", "--epochs", "1")
    assert done.returncode == 2
    assert done.stderr.startswith(f"cnnlab train: error: --init: {rgb} takes 3x8x8 inputs but mnist-sample holds "
                                  f"1x28x28 images")
    seven = export(tnn.Sequential(tnn.Flatten(), tnn.Linear(28 * 28, 7)), (1, 28, 28), tmp_path / "seven.onnx")
    done = run("train", "--init", seven, "--out", tmp_path / "b", "--epochs", "1")
    assert done.returncode == 2
    assert done.stderr == (f"cnnlab train: error: --init: {seven} has 7 outputs but mnist-sample has 10 classes; "
                           f"fine-tune it on a dataset with 7 classes\n")


def test_an_unsupported_onnx_file_is_one_line_on_stderr(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x00\x01 not a protobuf \xff")
    done = run("summary", path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"cnnlab summary: error: cnnlab.load: '{path}' is not")
