"""The GEMM: every product through one function; small ones pinned to one BLAS thread inside process_tuning only."""

import threading

import numpy as np
import pytest

import cnnlab
from cnnlab.backend.numpy_backend import blas


@pytest.mark.parametrize("a_shape,b_shape", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (6, 4, 5)),
                                             ((4,), (4, 5)), ((3, 4), (4,))])
def test_blas_matmul_equals_numpy_matmul_on_either_side_of_the_threshold(rng, monkeypatch, a_shape, b_shape):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for threshold in (0, 2 ** 40):
        monkeypatch.setattr(blas, "SINGLE_THREAD_FLOPS", threshold)
        np.testing.assert_array_equal(blas.matmul(a, b), a @ b)


def _recorded_thread_changes(monkeypatch):
    """The thread counts the GEMM sets from now on (none can be recorded without NumPy's OpenBLAS)."""
    calls = []
    functions = blas.openblas_thread_functions()
    if functions is not None:
        get, set_ = functions
        monkeypatch.setattr(blas, "openblas_thread_functions", lambda: (get, lambda n: (calls.append(n), set_(n))))
    return calls, functions


def test_gemm_pins_threads_only_inside_process_tuning_and_only_in_the_main_thread(rng, monkeypatch):
    monkeypatch.setattr(blas, "SINGLE_THREAD_FLOPS", 2 ** 27)
    calls, functions = _recorded_thread_changes(monkeypatch)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    np.testing.assert_array_equal(cnnlab.backend.matmul(a, b), a @ b)
    assert calls == []  # outside process_tuning: a plain product
    with cnnlab.process_tuning():
        results = []
        worker = threading.Thread(target=lambda: results.append(blas.matmul(a, b)))
        worker.start()
        worker.join()
        np.testing.assert_array_equal(results[0], a @ b)
        assert calls == []  # other threads never change the count
        if functions is not None and functions[0]() > 1:  # the main thread pins and restores
            threads = functions[0]()
            blas.matmul(a, b)
            assert calls == [1, threads]


@pytest.mark.parametrize("text,expected", [("", 2 ** 27), ("0", 0), (" 4096 ", 4096)])
def test_the_threshold_comes_from_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv("CNNLAB_SINGLE_THREAD_FLOPS", text)
    assert blas._threshold_from_environment() == expected


def test_a_bad_threshold_in_the_environment_is_named_and_ignored(monkeypatch):
    monkeypatch.setenv("CNNLAB_SINGLE_THREAD_FLOPS", "lots")
    with pytest.warns(RuntimeWarning, match=r"CNNLAB_SINGLE_THREAD_FLOPS must be a non-negative integer, got 'lots'"):
        assert blas._threshold_from_environment() == 2 ** 27
