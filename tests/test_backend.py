"""The kernel layer: choosing backends, the algorithm tables and their refusals."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import cnnlab
import cnnlab.backend as backend
import cnnlab.functional as F
from cnnlab.backend.algorithms import ConvGeometry, PoolGeometry
from cnnlab.ops import conv as conv_ops
from cnnlab.ops import pool as pool_ops
from helpers import assert_close, raises


@pytest.fixture
def bogus_backend():
    """A registered backend whose module is missing here."""
    backend.register("bogus", "cnnlab_no_such_module:Backend")
    yield "bogus"
    del backend._REGISTRY["bogus"]
    backend._loaded.pop("bogus", None)


def test_numpy_is_always_available_and_the_default_is_the_first_preferred_that_loads():
    available = backend.available_backends()
    assert available["numpy"] is None
    assert backend._default == next(name for name in backend.PREFERRED if available[name] is None)


FALLBACK = """
import sys, warnings
sys.modules["numba"] = None  # as if Numba were not installed
import cnnlab, cnnlab.functional as F
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    F.relu(cnnlab.ones(2))
    F.relu(cnnlab.ones(2))
print(cnnlab.get_backend())
print(len(caught))
print(caught[0].message)
"""


def test_without_numba_the_default_falls_back_on_numpy_with_one_line_saying_why():
    out = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True, check=True).stdout
    name, count, message = out.strip().splitlines()
    assert (name, count) == ("numpy", "1")
    assert message.startswith("cnnlab: backend 'numba' (ModuleNotFoundError: ")
    assert message.endswith(") is not available here; using 'numpy'")


def test_set_backend_and_get_backend():
    before = cnnlab.get_backend()
    try:
        cnnlab.set_backend("numpy")
        assert cnnlab.get_backend() == "numpy"
        assert backend.active().name == "numpy"
    finally:
        cnnlab.set_backend(before)


def test_using_backend_restores_the_previous_one_also_on_error():
    before = cnnlab.get_backend()
    with pytest.raises(KeyError):
        with cnnlab.using_backend("numpy") as active:
            assert active.name == "numpy" and cnnlab.get_backend() == "numpy"
            raise KeyError("inside")
    assert cnnlab.get_backend() == before


def test_using_backend_is_per_thread():
    seen = []
    with cnnlab.using_backend("numpy"):
        thread = threading.Thread(target=lambda: seen.append(cnnlab.get_backend()))
        thread.start()
        thread.join()
    assert seen == [backend._default]


def test_unknown_backend_names_the_available_ones():
    with raises(ValueError, "set_backend: unknown backend 'nunpy'", "'numpy'"):
        cnnlab.set_backend("nunpy")
    with raises(ValueError, "using_backend: unknown backend 'cuda'", "'numpy'"):
        with cnnlab.using_backend("cuda"):
            pass


def test_a_backend_that_cannot_load_is_listed_with_the_reason(bogus_backend):
    reason = backend.available_backends()[bogus_backend]
    assert "ModuleNotFoundError" in reason and "cnnlab_no_such_module" in reason
    with raises(ValueError, "set_backend: backend 'bogus' is not available here", "cnnlab_no_such_module"):
        cnnlab.set_backend(bogus_backend)


def test_register_refuses_a_name_that_is_not_an_identifier():
    with raises(ValueError, "register: name must be an identifier string, got 'my backend'"):
        backend.register("my backend", "x:Y")


def test_array_module_comes_from_the_operands():
    assert backend.get_array_module(np.zeros(2), 3.0) is np
    assert backend.to_numpy(np.arange(3)).tolist() == [0, 1, 2]


def test_importing_cnnlab_sets_no_backend_state_in_a_fresh_process():
    code = "import sys, cnnlab, cnnlab.backend as b; print(sorted(b._loaded), b._default, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "None", "False"]  # no backend is chosen or loaded, Numba not imported, until an op needs one


# ------------------------------------------------------------ the conv table
def _conv_geometry(x_shape, w_shape, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    return x_shape, w_shape, stride, padding, dilation, groups


REFUSALS = [
    ("winograd", _conv_geometry((2, 4, 9, 9), (4, 4, 5, 5)), ["algorithm 'winograd' applies to 2-D 3x3",
                                                              "got kernel (5, 5)"]),
    ("winograd", _conv_geometry((2, 4, 9, 9), (4, 4, 3, 3), stride=(2, 2)), ["got stride=(2, 2)"]),
    ("winograd", _conv_geometry((2, 4, 9, 9), (4, 4, 3, 3), dilation=(1, 2)), ["got dilation=(1, 2)"]),
    ("winograd", _conv_geometry((2, 4, 9, 9), (4, 2, 3, 3), groups=2), ["got groups=2"]),
    ("winograd", _conv_geometry((2, 4, 9), (4, 4, 3), (1,), ((0, 0),), (1,)), ["got kernel (3,)"]),
    ("gemm_nhwc", _conv_geometry((2, 4, 9, 9), (4, 2, 3, 3), groups=2),
     ["conv: algorithm 'gemm_nhwc' applies to one-group convolutions (groups=1); got groups=2"]),
]


@pytest.mark.parametrize("name,geometry,fragments", REFUSALS)
def test_a_forced_conv_algorithm_that_does_not_apply_is_refused_by_its_rule(name, geometry, fragments):
    with cnnlab.using_backend("numpy"):
        with raises(ValueError, *fragments):
            conv_ops.conv_algorithm(*geometry, algorithm=name)
        x = cnnlab.Tensor(np.ones(geometry[0], dtype=np.float32))
        w = cnnlab.Tensor(np.ones(geometry[1], dtype=np.float32))
        with raises(ValueError, *fragments):
            conv_ops.conv(x, w, None, *geometry[2:], algorithm=name)


def test_an_unknown_conv_algorithm_is_refused_with_the_list(engine_backend):
    names = [a.name for a in backend.active().conv_algorithms]
    with raises(ValueError, "conv: unknown algorithm 'winogard'", "'auto'", *(repr(n) for n in names)):
        conv_ops.conv_algorithm(*_conv_geometry((1, 1, 5, 5), (1, 1, 3, 3)), algorithm="winogard")


CONV_CASES = [  # (x shape, w shape, stride, padding, dilation, groups): every algorithm where it applies
    ((2, 3, 7, 8), (5, 3, 3, 3), (1, 1), ((1, 1), (0, 1)), (1, 1), 1),
    ((2, 16, 6, 5), (4, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
    ((3, 6, 9, 10), (7, 6, 5, 5), (2, 1), ((2, 2), (0, 0)), (1, 1), 1),
    ((2, 4, 11, 9), (3, 4, 3, 2), (1, 2), ((1, 1), (2, 2)), (2, 1), 1),
    ((2, 4, 7, 7), (6, 2, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 2),
    ((1, 1, 5, 5), (2, 1, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    ((2, 3, 11), (4, 3, 3), (2,), ((1, 0),), (1,), 1),
    ((2, 20, 7, 6), (24, 20, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),   # wide: blocked_gemm's large blocks
    ((2, 8, 9, 9), (20, 8, 3, 3), (2, 2), ((1, 0), (0, 1)), (1, 1), 1),     # wide, strided
]


def _conv_run(algorithm, x, w, b, case, g):
    ts = [cnnlab.Tensor(a, requires_grad=True) for a in (x, w, b)]
    y = conv_ops.conv(*ts, *case[2:], algorithm=algorithm)
    y.backward(g)
    return [y.array] + [t.grad.array for t in ts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES)
def test_every_conv_algorithm_that_applies_matches_im2col_and_torch(engine_backend, rng, dtype, case):
    torch = pytest.importorskip("torch")
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out = ConvGeometry.of(*case).out
    g = rng.standard_normal((x_shape[0], w_shape[0]) + out).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    conv = getattr(torch.nn.functional, f"conv{len(out)}d")
    pads = [p for pair in reversed(padding) for p in pair]
    ty = conv(torch.nn.functional.pad(tx, pads), tw, tb, stride, 0, dilation, groups)
    ty.backward(torch.tensor(g))
    theirs = [ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()]
    reference = _conv_run("im2col", x, w, b, case, g)
    geometry = ConvGeometry.of(*case)
    ran = 0
    for algorithm in backend.active().conv_algorithms:
        if algorithm.refusal(geometry) is not None:
            continue
        ran += 1
        for mine, ref, torch_ref in zip(_conv_run(algorithm.name, x, w, b, case, g), reference, theirs):
            assert mine.dtype == dtype
            assert_close(mine, ref, 1e-4 if dtype == np.float32 else 1e-10)
            assert_close(mine, torch_ref, 1e-4 if dtype == np.float32 else 1e-10)
    assert ran >= 1


# ------------------------------------------------------------ the pool tables
def test_a_forced_pool_algorithm_that_does_not_apply_is_refused_by_its_rule():
    x = cnnlab.Tensor(np.ones((1, 2, 6, 6), dtype=np.float32))
    with cnnlab.using_backend("numpy"):
        with raises(ValueError, "max_pool: algorithm 'tiled' applies to max pooling with stride = kernel",
                    "got stride=(1, 1) with kernel_size=(2, 2)"):
            pool_ops.max_pool_values(x, (2, 2), (1, 1), (0, 0), (1, 1), False, algorithm="tiled")
        with raises(ValueError, "got padding=(1, 1)"):
            pool_ops.max_pool_values(x, (2, 2), (2, 2), (1, 1), (1, 1), False, algorithm="tiled")
        with raises(ValueError, "got return_indices=True"):
            pool_ops.max_pool(x, (2, 2), (2, 2), (0, 0), (1, 1), False, algorithm="tiled")
        with raises(ValueError, "avg_pool: unknown algorithm 'tiled'", "'box_sum'"):
            pool_ops.avg_pool(x, (2, 2), (2, 2), (0, 0), False, True, None, algorithm="tiled")


POOL_CASES = [  # (x shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 9, 7), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((2, 3, 9, 7), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((1, 2, 10, 9), (3, 2), (1, 2), (1, 0), (2, 1), False),
    ((2, 3, 7), (3,), (3,), (0,), (1,), False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_every_max_pool_algorithm_that_applies_matches_torch(engine_backend, rng, dtype, case):
    torch = pytest.importorskip("torch")
    x_shape, kernel, stride, padding, dilation, ceil_mode = case
    x = rng.standard_normal(x_shape).astype(dtype)
    x[..., 0] = x[..., 1]  # ties
    tx = torch.tensor(x, requires_grad=True)
    pool = getattr(torch.nn.functional, f"max_pool{len(kernel)}d")
    ty = pool(tx, kernel, stride, padding, dilation, ceil_mode)
    g = rng.standard_normal(ty.shape).astype(dtype)
    ty.backward(torch.tensor(g))
    geometry = PoolGeometry.of(x_shape, kernel, stride, padding, dilation, ceil_mode)
    for algorithm in backend.active().max_pool_algorithms:
        if algorithm.refusal(geometry) is not None:
            continue
        t = cnnlab.Tensor(x, requires_grad=True)
        y = pool_ops.max_pool_values(t, kernel, stride, padding, dilation, ceil_mode, algorithm=algorithm.name)
        y.backward(g)
        np.testing.assert_array_equal(y.array, ty.detach().numpy())
        assert_close(t.grad.array, tx.grad.numpy(), 1e-6 if dtype == np.float32 else 1e-14)  # overlaps add up


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_every_avg_pool_algorithm_matches_torch(engine_backend, rng, dtype, case, count_include_pad):
    torch = pytest.importorskip("torch")
    x_shape, kernel, stride, padding, _, ceil_mode = case
    x = rng.standard_normal(x_shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    pool = getattr(torch.nn.functional, f"avg_pool{len(kernel)}d")
    ty = pool(tx, kernel, stride, padding, ceil_mode, count_include_pad)
    g = rng.standard_normal(ty.shape).astype(dtype)
    ty.backward(torch.tensor(g))
    geometry = PoolGeometry.of(x_shape, kernel, stride, padding, (1,) * len(kernel), ceil_mode)
    for algorithm in backend.active().avg_pool_algorithms:
        if algorithm.refusal(geometry) is not None:
            continue
        t = cnnlab.Tensor(x, requires_grad=True)
        y = pool_ops.avg_pool(t, kernel, stride, padding, ceil_mode, count_include_pad, None,
                              algorithm=algorithm.name)
        y.backward(g)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        assert_close(y.array, ty.detach().numpy(), rtol)
        assert_close(t.grad.array, tx.grad.numpy(), rtol)


def test_functional_ops_dispatch_to_the_active_backend(monkeypatch):
    """A backend's override is what the public API runs: the seam is real."""
    calls = []
    with cnnlab.using_backend("numpy") as active:
        kind = type(active)
        original = kind.im2col
        monkeypatch.setattr(kind, "im2col", lambda self, *args: calls.append(args[1]) or original(self, *args))
        x = cnnlab.Tensor(np.ones((1, 2, 5, 5), dtype=np.float32))
        F.conv2d(x, cnnlab.Tensor(np.ones((3, 2, 3, 3), dtype=np.float32)))
    assert calls == [(3, 3)]


THREADED_LAUNCHES = """
import threading, numpy as np, cnnlab, cnnlab.functional as F
cnnlab.set_backend("numba")
x = cnnlab.Tensor(np.random.default_rng(0).standard_normal((8, 3, 16, 16)).astype("f"))
w = cnnlab.Tensor(np.ones((6, 3, 5, 5), "f"))
expected = F.max_pool2d(F.relu(F.conv2d(x, w)), 2).array
results = []
def work():
    for _ in range(20):
        results.append(np.array_equal(F.max_pool2d(F.relu(F.conv2d(x, w)), 2).array, expected))
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(all(results), len(results))
"""


@pytest.mark.parametrize("layer", ["default", "workqueue"])
def test_numba_kernels_launched_from_several_threads_at_once_are_safe(layer):
    """Numba's workqueue layer aborts the process on concurrent launches; the backend serialises them."""
    if backend.available_backends().get("numba") is not None:
        pytest.skip("backend 'numba' is not available here")
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    out = subprocess.run([sys.executable, "-c", THREADED_LAUNCHES], capture_output=True, text=True, timeout=600,
                         env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "80"]


def test_pool_algorithm_names_the_automatic_choice():
    with cnnlab.using_backend("numpy"):
        args = ((1, 2, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False)
        assert pool_ops.pool_algorithm("max", *args).name == "tiled"
        assert pool_ops.pool_algorithm("max", *args, indices=True).name == "windows"
        assert pool_ops.pool_algorithm("avg", *args).name == "box_sum"
        with raises(ValueError, "max_pool: unknown algorithm 'fast'"):
            pool_ops.pool_algorithm("max", *args, algorithm="fast")


@pytest.mark.parametrize("environ,expected", [
    ({}, "default"), ({"OMP_NUM_THREADS": "1"}, 1), ({"OMP_NUM_THREADS": "1,1"}, 1),
    ({"OMP_NUM_THREADS": "0"}, "default"), ({"OMP_NUM_THREADS": "lots"}, "default"),
    ({"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "2"}, "default"),  # Numba's own setting wins
])
def test_kernel_threads_respects_numba_and_openmp_settings(environ, expected):
    numba = pytest.importorskip("numba")
    from cnnlab.backend import numba_backend

    default = numba.config.NUMBA_NUM_THREADS
    assert numba_backend.kernel_threads(environ) == (default if expected == "default" else min(expected, default))
    assert numba_backend.kernel_threads({"OMP_NUM_THREADS": "10000"}) == default  # never more than Numba started


def test_each_launch_runs_on_the_backends_thread_count_and_restores_the_callers(monkeypatch):
    numba = pytest.importorskip("numba")
    import types

    from cnnlab.backend import numba_backend

    seen = []
    monkeypatch.setattr(numba_backend, "THREADS", 1)
    kernels = numba_backend._Serialized(types.SimpleNamespace(kernel=lambda: seen.append(numba.get_num_threads())))
    before = numba.get_num_threads()
    kernels.kernel()
    assert seen == [1] and numba.get_num_threads() == before
