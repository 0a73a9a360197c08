import numpy as np
import pytest

try:  # torch is the oracle; on tiny tensors its worker threads only add overhead
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(0)
