"""cnnlab.viz plots, cnnlab.inspect (feature maps, the conv arithmetic) and the viz commands."""
import csv
import os

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.data import MNIST, MNISTSample
from cnnlab.inspect import explain_conv, feature_maps, load_model, prepare_image, to_input, trace

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from cnnlab import viz  # noqa: E402
from cnnlab.cli import CLIError, build_parser  # noqa: E402


def png_size(path):
    """(width, height) of a valid PNG file (Pillow verifies it)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        return image.size


def no_temporary_files(folder):
    return not [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.fixture(scope="module")
def digits():
    return MNISTSample(train=False)


@pytest.fixture
def lenet():
    cnnlab.manual_seed(0)
    return models.create("lenet5").eval()


# ------------------------------------------------------------------ kernels
@pytest.mark.parametrize("name, layer", [("lenet5", None), ("lenet5", "features.3"), ("simple_cnn", None),
                                         ("keras_mnist_convnet", "features.5")])
def test_plot_kernels_writes_a_png(tmp_path, name, layer):
    path = tmp_path / "kernels.png"
    assert viz.plot_kernels(models.create(name), path, layer=layer) == path
    width, height = png_size(path)
    assert width > 200 and height > 100
    assert no_temporary_files(tmp_path)


def test_plot_kernels_takes_a_layer_itself(tmp_path):
    viz.plot_kernels(nn.Conv2d(3, 4, 3), tmp_path / "k.png")
    assert png_size(tmp_path / "k.png")[0] > 100


def test_plot_kernels_names_the_conv_layers_when_the_layer_is_unknown(tmp_path, lenet):
    with pytest.raises(ValueError, match=r"layer must name a Conv2d layer of the model \(features.0, features.3\), "
                                         r"got layer='features.1'"):
        viz.plot_kernels(lenet, tmp_path / "k.png", layer="features.1")
    with pytest.raises(ValueError, match="Sequential has no Conv2d layer"):
        viz.plot_kernels(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), tmp_path / "k.png")


# ------------------------------------------------------------- feature maps
EXPECTED_MAPS = {
    "lenet5": [("features.0", "Conv2d", (6, 28, 28)), ("features.2", "MaxPool2d", (6, 14, 14)),
               ("features.3", "Conv2d", (16, 10, 10)), ("features.5", "MaxPool2d", (16, 5, 5))],
    "tiny_vgg": [("block1.0", "Conv2d", (10, 62, 62)), ("block1.2", "Conv2d", (10, 60, 60)),
                 ("block1.4", "MaxPool2d", (10, 30, 30)), ("block2.0", "Conv2d", (10, 28, 28)),
                 ("block2.2", "Conv2d", (10, 26, 26)), ("block2.4", "MaxPool2d", (10, 13, 13))],
    "keras_mnist_convnet": [("features.0", "Conv2d", (64, 26, 26)), ("features.2", "Conv2d", (64, 24, 24)),
                            ("features.4", "MaxPool2d", (64, 12, 12)), ("features.5", "Conv2d", (128, 10, 10)),
                            ("features.7", "Conv2d", (128, 8, 8)),
                            ("classifier.0", "AdaptiveAvgPool2d", (128, 1, 1))],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_MAPS))
def test_feature_maps_have_each_conv_and_pool_layer_in_order(name):
    shape = models.spec(name).input_shape
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    maps = feature_maps(models.create(name), image)
    assert [(n, t, a.shape) for n, t, a in maps] == EXPECTED_MAPS[name]


@pytest.mark.parametrize("name", models.names())
def test_feature_maps_cover_every_conv_and_pool_module_of_every_zoo_model(name):
    model = models.create(name)
    image = np.zeros(models.spec(name).input_shape, dtype=np.uint8)
    kinds = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    expected = [n for n, m in model.named_modules() if isinstance(m, kinds)]
    assert sorted(n for n, _, _ in feature_maps(model, image)) == sorted(expected)


def test_feature_maps_are_the_layers_real_outputs(lenet, digits):
    x = to_input(digits.data[3])
    maps = {n: a for n, _, a in feature_maps(lenet, digits.data[3])}
    with cnnlab.no_grad():
        conv1 = lenet.features[0](cnnlab.from_numpy(x)).array
        pooled = lenet.features[2](lenet.features[1](lenet.features[0](cnnlab.from_numpy(x)))).array
    np.testing.assert_array_equal(maps["features.0"], conv1[0])
    np.testing.assert_array_equal(maps["features.2"], pooled[0])


def test_feature_maps_leave_the_model_as_it_was(lenet, digits):
    lenet.train()
    feature_maps(lenet, digits.data[0])
    assert lenet.training and all(not m._forward_hooks for m in lenet.modules())


def test_feature_maps_refuse_a_batch(lenet):
    with pytest.raises(ValueError, match=r"expected one image \(C, H, W\) or \(1, C, H, W\), got a batch"):
        feature_maps(lenet, np.zeros((2, 1, 28, 28), np.uint8))


def test_plot_feature_maps_writes_a_png(tmp_path, lenet, digits):
    path = viz.plot_feature_maps(lenet, digits.data[0], tmp_path / "features.png")
    width, height = png_size(path)
    assert width > 600 and height > 300


def test_plot_feature_maps_of_a_colour_model(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    viz.plot_feature_maps(models.create("improved_cnn"), image, tmp_path / "f.png", max_channels=4)
    assert png_size(tmp_path / "f.png")[1] > 500


# -------------------------------------------------------- conv arithmetic
def _check_every_conv(model, image, info=None):
    calls, _ = trace(model, to_input(image, info))
    convs = [c for c in calls if isinstance(c.module, nn.Conv2d)]
    assert convs
    rng = np.random.default_rng(0)
    for call in convs:
        _, channels, height, width = call.output.shape
        for _ in range(3):
            c, y, x = (int(rng.integers(n)) for n in (channels, height, width))
            answer = explain_conv(model, image, call.name, c, y, x, info=info)
            assert abs(answer["value"] - answer["actual"]) <= 1e-5
            assert answer["actual"] == float(call.output.array[0, c, y, x])
            assert answer["value"] == pytest.approx(answer["sum"] + answer["bias"])
            assert np.allclose(np.array(answer["products"]), np.array(answer["patch"]) * np.array(answer["weights"]))


@pytest.mark.parametrize("name", ["lenet5", "improved_cnn", "stn"])
def test_explain_conv_equals_the_forward_pass(name):
    shape = models.spec(name).input_shape
    image = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    _check_every_conv(models.create(name), image)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_explain_conv_with_stride_dilation_groups_and_padding_modes(padding_mode):
    cnnlab.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=2, padding_mode=padding_mode), nn.Tanh(),
                          nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2), nn.LeakyReLU(0.1))
    image = np.random.default_rng(4).standard_normal((2, 11, 9)).astype(np.float32)
    _check_every_conv(model, image)


def test_explain_conv_lists_the_steps_after_the_conv(lenet, digits):
    answer = explain_conv(lenet, digits.data[0], "features.3", 5, 4, 4)
    assert [s["type"] for s in answer["steps"]] == ["ReLU"]
    assert answer["steps"][0]["value"] == max(0.0, answer["actual"])
    assert answer["input_layer"] == "features.2" and answer["input_after"] == []
    assert answer["input_channels"] == [0, 6] and np.shape(answer["patch"]) == (6, 5, 5)
    first = explain_conv(lenet, digits.data[0], "features.0", 0, 0, 0)
    assert first["input_layer"] == "input" and first["window"] == {"top": -2, "left": -2, "height": 5, "width": 5}
    assert np.array(first["patch"])[0, :2].sum() == 0  # the zero padding


def test_explain_conv_errors_name_the_argument(lenet, digits):
    with pytest.raises(ValueError, match=r"layer must be one of the model's Conv2d layers \(features.0, features.3\)"):
        explain_conv(lenet, digits.data[0], "nope", 0, 0, 0)
    with pytest.raises(ValueError, match="layer 'features.2' is a MaxPool2d; the arithmetic is shown for Conv2d"):
        explain_conv(lenet, digits.data[0], "features.2", 0, 0, 0)
    with pytest.raises(ValueError, match=r"channel must be an int in 0..5 for layer 'features.0' .* got channel=6"):
        explain_conv(lenet, digits.data[0], "features.0", 6, 0, 0)
    with pytest.raises(ValueError, match=r"x must be an int in 0..9 .* got x=-1"):
        explain_conv(lenet, digits.data[0], "features.3", 0, 0, -1)


# ------------------------------------------------------------------ images
def test_prepare_image_inverts_dark_on_light_for_one_channel_models(digits, tmp_path):
    digit = digits.data[0, 0]
    path = tmp_path / "drawn.png"
    Image.fromarray(255 - digit).resize((84, 84)).save(path)  # dark on light, 3x larger
    image = prepare_image(str(path), (1, 28, 28))
    assert image.shape == (1, 28, 28) and image.dtype == np.uint8
    assert np.abs(image[0].astype(int) - digit).mean() < 12
    assert prepare_image(digit, (1, 28, 28))[0].tolist() == digit.tolist()  # light on dark: unchanged
    assert prepare_image(digit, (1, 28, 28), invert=True)[0].tolist() == (255 - digit).tolist()


def test_prepare_image_makes_rgb_of_any_size_and_refuses_non_images():
    image = prepare_image(np.zeros((10, 30, 3), np.uint8), (3, 32, 32))
    assert image.shape == (3, 32, 32)
    with pytest.raises(ValueError, match="not an image format Pillow knows"):
        prepare_image(b"%PDF-1.4 not an image", (1, 28, 28))


def test_to_input_normalises_with_the_model_info():
    x = to_input(np.full((1, 2, 2), 255, np.uint8), {"normalize": {"mean": [0.5], "std": [0.25]}})
    assert x.shape == (1, 1, 2, 2) and np.allclose(x, 2.0)


def test_load_model_needs_input_shape_in_the_file(tmp_path, lenet):
    cnnlab.save(lenet, tmp_path / "plain.safetensors", info={"classes": list("0123456789")})
    with pytest.raises(ValueError, match=r"needs input_shape as \[channels, height, width\], got input_shape=None"):
        load_model(tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="MODEL must be a model file or a zoo model name"):
        load_model(tmp_path / "missing.safetensors")
    model, info, notice = load_model("lenet5")
    assert info["input_shape"] == [1, 28, 28] and "untrained" in notice and not model.training


# ---------------------------------------------------- evaluation and curves
def test_confusion_matrix_counts_rows_true_columns_predicted():
    matrix = viz.confusion_matrix([0, 1, 1, 2], [0, 1, 0, 2], 3)
    assert matrix.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match=r"predicted must be class indices in 0..2, got values from 0 to 3"):
        viz.confusion_matrix([0, 1], [0, 3], 3)


def test_plot_confusion_and_misclassified(tmp_path, digits):
    predicted = digits.targets.copy()
    predicted[:7] = (predicted[:7] + 1) % 10
    viz.plot_confusion(viz.confusion_matrix(digits.targets, predicted, 10), digits.classes, tmp_path / "c.png")
    assert min(png_size(tmp_path / "c.png")) > 400
    viz.plot_misclassified(digits.data, digits.targets, predicted, digits.classes, tmp_path / "e.png", max_images=4)
    width, height = png_size(tmp_path / "e.png")
    assert width > 300 and height > 150
    viz.plot_misclassified(digits.data, digits.targets, digits.targets, digits.classes, tmp_path / "none.png")
    assert png_size(tmp_path / "none.png")[0] > 50
    with pytest.raises(ValueError, match=r"matrix must be \(10, 10\) for 10 classes, got shape \(2, 2\)"):
        viz.plot_confusion(np.eye(2), digits.classes, tmp_path / "bad.png")


def _write_log(path):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", "loss", "accuracy", "lr", "val_loss", "val_accuracy"])
        for epoch, (loss, acc) in enumerate([(1.2, 0.6), (0.6, 0.8), (0.4, 0.9)]):
            writer.writerow([epoch, loss, acc, 0.001, loss + 0.1, acc - 0.05])
    return path


def test_plot_history_from_csv_and_dict(tmp_path):
    viz.plot_history(_write_log(tmp_path / "log.csv"), tmp_path / "curves.png")
    assert png_size(tmp_path / "curves.png")[0] > 500
    viz.plot_history({"loss": [1.0, 0.5]}, tmp_path / "dict.png")
    assert png_size(tmp_path / "dict.png")[0] > 200
    with pytest.raises(ValueError, match="nothing to plot"):
        viz.plot_history({"lr": [0.1]}, tmp_path / "none.png")


def test_plot_lr_finder(tmp_path):
    class Result:
        lrs, losses, suggestion = np.logspace(-5, 0, 20), np.linspace(2, 1, 20), 1e-3

    viz.plot_lr_finder(Result(), tmp_path / "lr.png")
    assert png_size(tmp_path / "lr.png")[0] > 300


# ---------------------------------------------------------------- commands
def run_viz(*argv):
    """Parse with the real front door, run the command, let its errors raise."""
    args = build_parser().parse_args(["viz", *map(str, argv)])
    return args.run(args)


@pytest.fixture
def saved_lenet(tmp_path, lenet):
    path = tmp_path / "lenet.safetensors"
    cnnlab.save(lenet, path, info={"input_shape": [1, 28, 28], "classes": list(MNIST.classes), "model": "lenet5"})
    return path


def test_viz_commands_write_pngs(tmp_path, capsys, saved_lenet, digits):
    digit = tmp_path / "digit.png"
    Image.fromarray(digits.data[0, 0]).save(digit)
    assert run_viz("kernels", saved_lenet, "--layer", "features.3", "-o", tmp_path / "k.png") == 0
    assert run_viz("features", saved_lenet, digit, "-o", tmp_path / "f.png") == 0
    assert run_viz("curves", _write_log(tmp_path / "log.csv"), "-o", tmp_path / "c.png") == 0
    assert run_viz("confusion", "lenet5", "-o", tmp_path / "m.png", "--errors", tmp_path / "e.png") == 0
    out = capsys.readouterr().out
    assert "untrained" in out and "accuracy" in out and "misclassified" in out
    for name in ("k", "f", "c", "m", "e"):
        assert png_size(tmp_path / f"{name}.png")[0] > 100


def test_viz_command_errors_are_user_errors(tmp_path, saved_lenet):
    with pytest.raises(ValueError, match="got layer='classifier.1'"):
        run_viz("kernels", saved_lenet, "--layer", "classifier.1", "-o", tmp_path / "k.png")
    with pytest.raises(ValueError, match=r"-o must name a .png, .jpg, .jpeg, .svg, .pdf file, got '.*k.txt'"):
        run_viz("kernels", saved_lenet, "-o", tmp_path / "k.txt")
    with pytest.raises(CLIError, match="IMAGE: cannot read .*missing.png': no such file"):
        run_viz("features", saved_lenet, tmp_path / "missing.png", "-o", tmp_path / "f.png")
    with pytest.raises(ValueError, match="unknown dataset 'mnist-smaple'; did you mean mnist-sample"):
        run_viz("confusion", saved_lenet, "--dataset", "mnist-smaple", "-o", tmp_path / "m.png")
    with pytest.raises(ValueError, match=r"the model takes 3x32x32 inputs but mnist-sample holds 1x28x28 images"):
        run_viz("confusion", "simple_cnn", "-o", tmp_path / "m.png")
