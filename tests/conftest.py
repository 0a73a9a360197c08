import numpy as np
import pytest

import cnnlab

try:  # torch is the oracle; on tiny tensors its worker threads only add overhead
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass

#: The test modules of the engine's ops: each of their tests runs once under every backend available here.
OP_MODULES = {
    "test_activation", "test_algorithms", "test_conv", "test_conv_algorithms", "test_conv_nhwc_algorithms",
    "test_conv_same_padding",
    "test_loss", "test_models", "test_nn_layers", "test_norm", "test_onnx_export", "test_optim", "test_pad",
    "test_pool",
    "test_pool_algorithms", "test_sampling", "test_tensor",
}
BACKENDS = [name for name, reason in cnnlab.available_backends().items() if reason is None]


def pytest_generate_tests(metafunc):
    if "engine_backend" in metafunc.fixturenames and metafunc.module.__name__.rpartition(".")[2] in OP_MODULES:
        metafunc.parametrize("engine_backend", BACKENDS, indirect=True, ids=[f"backend={b}" for b in BACKENDS])


@pytest.fixture(autouse=True)
def engine_backend(request):
    """The backend a test runs under: each available one in turn for the op modules, the default elsewhere."""
    name = getattr(request, "param", None)
    if name is None:
        yield cnnlab.get_backend()
        return
    with cnnlab.using_backend(name):
        yield name


@pytest.fixture
def rng():
    return np.random.default_rng(0)
