"""The zoo: each model against its torch twin (parameter count, state_dict keys, outputs)."""
import numpy as np
import pytest

import cnnlab
from cnnlab import models

torch = pytest.importorskip("torch")
tnn = torch.nn


def lenet5(variant="modern", in_channels=1, input_size=28, num_classes=10, activation=None):
    act = {"relu": tnn.ReLU, "tanh": tnn.Tanh, "sigmoid": tnn.Sigmoid}[activation or
                                                                       ("relu" if variant == "modern" else "tanh")]
    pool = tnn.MaxPool2d if variant == "modern" else tnn.AvgPool2d
    pad = 2 if input_size < 32 else 0
    side = ((input_size + 2 * pad - 4) // 2 - 4) // 2
    twin = tnn.Module()
    twin.features = tnn.Sequential(tnn.Conv2d(in_channels, 6, 5, padding=pad), act(), pool(2),
                                   tnn.Conv2d(6, 16, 5), act(), pool(2))
    twin.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(16 * side * side, 120), act(), tnn.Linear(120, 84),
                                     act(), tnn.Linear(84, num_classes))
    twin.forward = lambda x: twin.classifier(twin.features(x))
    return twin


def mnist_cnn():
    twin = tnn.Module()
    twin.features = tnn.Sequential(tnn.Conv2d(1, 16, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                   tnn.Conv2d(16, 32, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2))
    twin.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(32 * 7 * 7, 10))
    twin.forward = lambda x: twin.classifier(twin.features(x))
    return twin


def keras_mnist_convnet():
    twin = tnn.Module()
    twin.features = tnn.Sequential(tnn.Conv2d(1, 64, 3), tnn.ReLU(), tnn.Conv2d(64, 64, 3), tnn.ReLU(),
                                   tnn.MaxPool2d(2), tnn.Conv2d(64, 128, 3), tnn.ReLU(), tnn.Conv2d(128, 128, 3),
                                   tnn.ReLU())
    twin.classifier = tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Dropout(0.5), tnn.Linear(128, 10))
    twin.forward = lambda x: twin.classifier(twin.features(x))
    return twin


def simple_cnn():
    twin = tnn.Module()
    twin.features = tnn.Sequential(tnn.Conv2d(3, 6, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                                   tnn.ReLU(), tnn.MaxPool2d(2))
    twin.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                                     tnn.Linear(84, 10))
    twin.forward = lambda x: twin.classifier(twin.features(x))
    return twin


def improved_cnn():
    def block(i, o):
        return [tnn.Conv2d(i, o, 3, padding=1, bias=False), tnn.BatchNorm2d(o), tnn.ReLU()]
    twin = tnn.Module()
    twin.features = tnn.Sequential(*block(3, 32), *block(32, 64), tnn.MaxPool2d(2), *block(64, 128), tnn.MaxPool2d(2),
                                   *block(128, 128), tnn.MaxPool2d(2), tnn.Dropout(0.25))
    twin.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(2048, 256), tnn.ReLU(), tnn.Dropout(0.5),
                                     tnn.Linear(256, 128), tnn.ReLU(), tnn.Dropout(0.5), tnn.Linear(128, 10))
    twin.forward = lambda x: twin.classifier(twin.features(x))
    return twin


def tiny_vgg(input_size=64, num_classes=10):
    side = ((input_size - 4) // 2 - 4) // 2
    twin = tnn.Module()
    twin.block1 = tnn.Sequential(tnn.Conv2d(3, 10, 3), tnn.ReLU(), tnn.Conv2d(10, 10, 3), tnn.ReLU(), tnn.MaxPool2d(2))
    twin.block2 = tnn.Sequential(tnn.Conv2d(10, 10, 3), tnn.ReLU(), tnn.Conv2d(10, 10, 3), tnn.ReLU(), tnn.MaxPool2d(2))
    twin.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(10 * side * side, num_classes))
    twin.forward = lambda x: twin.classifier(twin.block2(twin.block1(x)))
    return twin


def stn():
    twin = tnn.Module()
    twin.localization = tnn.Sequential(tnn.Conv2d(1, 8, 7), tnn.MaxPool2d(2), tnn.ReLU(), tnn.Conv2d(8, 10, 5),
                                       tnn.MaxPool2d(2), tnn.ReLU())
    twin.fc_loc = tnn.Sequential(tnn.Flatten(), tnn.Linear(90, 32), tnn.ReLU(), tnn.Linear(32, 6))
    twin.features = tnn.Sequential(tnn.Conv2d(1, 10, 5), tnn.MaxPool2d(2), tnn.ReLU(), tnn.Conv2d(10, 20, 5),
                                   tnn.MaxPool2d(2), tnn.ReLU())
    twin.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(320, 50), tnn.ReLU(), tnn.Dropout(),
                                     tnn.Linear(50, 10))

    def forward(x):
        theta = twin.fc_loc(twin.localization(x)).view(-1, 2, 3)
        grid = torch.nn.functional.affine_grid(theta, x.size(), align_corners=False)
        x = torch.nn.functional.grid_sample(x, grid, align_corners=False)
        return twin.classifier(twin.features(x))
    twin.forward = forward
    return twin


CASES = [
    ("lenet5", {}, lenet5, (1, 28, 28)),
    ("lenet5", {"variant": "classic"}, lambda: lenet5("classic"), (1, 28, 28)),
    ("lenet5", {"variant": "classic", "activation": "sigmoid", "input_size": 32},
     lambda: lenet5("classic", input_size=32, activation="sigmoid"), (1, 32, 32)),
    ("lenet5", {"input_size": 32, "in_channels": 3}, lambda: lenet5(in_channels=3, input_size=32), (3, 32, 32)),
    ("mnist_cnn", {}, mnist_cnn, (1, 28, 28)),
    ("keras_mnist_convnet", {}, keras_mnist_convnet, (1, 28, 28)),
    ("simple_cnn", {}, simple_cnn, (3, 32, 32)),
    ("improved_cnn", {}, improved_cnn, (3, 32, 32)),
    ("tiny_vgg", {}, tiny_vgg, (3, 64, 64)),
    ("tiny_vgg", {"input_size": 32, "num_classes": 4}, lambda: tiny_vgg(32, 4), (3, 32, 32)),
    ("stn", {}, stn, (1, 28, 28)),
]


@pytest.mark.parametrize("name,kwargs,twin,shape", CASES)
def test_model_matches_its_torch_twin(name, kwargs, twin, shape):
    model = models.create(name, **kwargs)
    reference = twin()
    ours = {k: v.shape for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert ours == theirs
    assert sum(p.array.size for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    # Same weights, same outputs (eval mode: no dropout, running batch-norm statistics).
    reference.load_state_dict({k: torch.tensor(v.array) for k, v in model.state_dict().items()})
    model.eval()
    reference.eval()
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    np.testing.assert_allclose(model(cnnlab.Tensor(x)).array, reference(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_stn_starts_from_the_identity_transform():
    model = models.create("stn")
    x = cnnlab.Tensor(np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32))
    np.testing.assert_allclose(model.transform(x).array, x.array, atol=1e-5)


def test_registry_lists_every_model_and_suggests_names():
    assert models.names() == ["improved_cnn", "keras_mnist_convnet", "lenet5", "mnist_cnn", "simple_cnn", "stn",
                              "tiny_vgg"]
    with pytest.raises(ValueError, match="unknown model 'lenet'; did you mean lenet5"):
        models.create("lenet")
    for name in models.names():
        assert models.spec(name).cls.__doc__.strip()


@pytest.mark.parametrize("kwargs,message", [
    ({"variant": "old"}, "variant must be 'modern' or 'classic', got variant='old'"),
    ({"activation": "relu6"}, "activation must be one of"),
    ({"input_size": 20}, "input_size must be at least 28, got input_size=20"),
])
def test_lenet5_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.create("lenet5", **kwargs)
