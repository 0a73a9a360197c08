"""Where does FFT convolution overtake the direct method? Measure it, fit the cost model.

Times ``cnnlab.signal.convolve(..., method='direct')`` and ``method='fft'`` on
1-D signals and square 2-D images over a grid of kernel sizes, fits

    direct ~ DIRECT_FIXED + taps * (DIRECT_PER_TAP + rows * DIRECT_PER_ROW + out * DIRECT_PER_MAC)
    fft    ~ FFT_FIXED + L * log2(L) * FFT_PER_POINT_LOG2      (L = padded FFT grid size)

(``rows``: output rows, ``out`` over its last axis) by least squares on relative
error, and prints the constants (to paste into ``cnnlab/signal.py``), the measured
crossover kernel size for each input size, the one 'auto' picks with the fitted
constants, and the worst slowdown 'auto' costs over always picking the faster
method. ``DIRECT_BELOW_MACS``, the size up to which 'auto' always goes direct,
is a fixed choice, not fitted.

    python benchmarks/signal_crossover.py            # about a minute
    python benchmarks/signal_crossover.py --quick    # a smaller grid, for a smoke test
"""
import argparse
import time

import numpy as np

from cnnlab import signal

GRID_1D = {n: [3, 5, 9, 15, 27, 45, 81, 243, 729] for n in (100, 1_000, 10_000, 100_000)}
GRID_2D = {n: [3, 5, 7, 9, 11, 15, 21] for n in (16, 32, 64, 128, 256, 512)}
CONSTANTS = ("DIRECT_FIXED", "DIRECT_PER_TAP", "DIRECT_PER_ROW", "DIRECT_PER_MAC",
             "FFT_FIXED", "FFT_PER_POINT_LOG2")
QUICK_1D = {1_000: [3, 27, 243]}
QUICK_2D = {64: [3, 9, 21]}


def best_time(fn, budget=0.2, repeats=5):
    """Minimum over ``repeats`` runs of the mean time of enough calls to fill ``budget / repeats``."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(budget / repeats / once))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def measure(grid_1d, grid_2d, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for ndim, grid in ((1, grid_1d), (2, grid_2d)):
        for n, kernels in grid.items():
            a = rng.standard_normal((n,) * ndim)
            for k in kernels:
                v = rng.standard_normal((k,) * ndim)
                direct = best_time(lambda: signal.convolve(a, v, method="direct"))
                fft = best_time(lambda: signal.convolve(a, v, method="fft"))
                rows.append((ndim, n, k, direct, fft))
    return rows


def features(ndim, n, k):
    taps = k**ndim
    out = (n + k - 1) ** ndim
    points = signal.next_fast_len(n + k - 1) ** ndim
    return taps, out, points


def fit_relative(columns, times):
    """Non-negative least squares on relative error: minimise sum((model / time - 1)^2).

    A coefficient that comes out negative is set to 0 and the rest refitted.
    """
    a = np.array(columns, dtype=float) / np.array(times)[:, None]
    keep = np.ones(a.shape[1], dtype=bool)
    while True:
        coef = np.zeros(a.shape[1])
        coef[keep] = np.linalg.lstsq(a[:, keep], np.ones(len(times)), rcond=None)[0]
        if (coef >= 0).all():
            return coef
        keep &= coef > 0


def fit(rows):
    """The constants of the cost model (in the order of CONSTANTS), from the measured rows."""
    direct_columns, fft_columns = [], []
    for ndim, n, k, _, _ in rows:
        taps, out, points = features(ndim, n, k)
        direct_columns.append([1.0, taps, taps * out // (n + k - 1), taps * out])
        fft_columns.append([1.0, points * np.log2(points)])
    direct = fit_relative(direct_columns, [row[3] for row in rows])
    fft = fit_relative(fft_columns, [row[4] for row in rows])
    return (*direct, *fft)


def crossovers(rows):
    """Per (ndim, n): smallest kernel where FFT was faster, where 'auto' picks it, and what 'auto' costs."""
    table = {}
    for ndim, n, k, direct, fft in rows:
        entry = table.setdefault((ndim, n), {"measured": None, "auto": None, "slowdown": 1.0})
        if fft < direct and entry["measured"] is None:
            entry["measured"] = k
        picked = signal.choose_method((n,) * ndim, (k,) * ndim)
        if picked == "fft" and entry["auto"] is None:
            entry["auto"] = k
        auto = fft if picked == "fft" else direct
        entry["slowdown"] = max(entry["slowdown"], auto / min(fft, direct))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small grid, for a smoke test")
    args = parser.parse_args()
    rows = measure(QUICK_1D, QUICK_2D) if args.quick else measure(GRID_1D, GRID_2D)

    print("| input | kernel | direct (ms) | fft (ms) | faster |")
    print("|---|---|---:|---:|---|")
    for ndim, n, k, direct, fft in rows:
        shape = f"{n}" if ndim == 1 else f"{n}x{n}"
        kernel = f"{k}" if ndim == 1 else f"{k}x{k}"
        print(f"| {shape} | {kernel} | {direct * 1e3:.3f} | {fft * 1e3:.3f} | {'fft' if fft < direct else 'direct'} |")

    constants = dict(zip(CONSTANTS, fit(rows)))
    print("\nfitted constants (paste into cnnlab/signal.py):")
    for name, value in constants.items():
        print(f"{name} = {value:.2g}")

    for name, value in constants.items():
        setattr(signal, name, value)
    print("\ncrossover: smallest kernel size where FFT is faster, measured and as 'auto' picks it;")
    print("'auto' slowdown: worst ratio, over the row's kernels, of the time of the method 'auto' picks to the faster one")
    print("| input | measured | 'auto' | 'auto' slowdown |")
    print("|---|---|---|---:|")
    for (ndim, n), entry in crossovers(rows).items():
        shape = f"{n}" if ndim == 1 else f"{n}x{n}"
        show = lambda k: "none in grid" if k is None else (f"{k}" if ndim == 1 else f"{k}x{k}")  # noqa: E731
        print(f"| {shape} | {show(entry['measured'])} | {show(entry['auto'])} | {entry['slowdown']:.2f}x |")


if __name__ == "__main__":
    main()
