"""Where the time of one cnnlab training step goes, per op family (cProfile).

Runs ``--steps`` training steps (batch 128, Adam, cross-entropy) of a zoo model
under cProfile and charges every function's own time to the source file it
lives in; time inside NumPy built-ins (matmul, copies, ufuncs) is charged to
the cnnlab file that called them. Prints each file's share of the step.

    python benchmarks/profile_step.py lenet5
    python benchmarks/profile_step.py keras_mnist_convnet --backend numpy --steps 5
"""
import argparse
import cProfile
import os
import pstats
from collections import defaultdict

import cnnlab
from compare_torch import cnnlab_steps
from cnnlab import models


def owner(function):
    """The cnnlab file a profiled function belongs to, or None for built-ins and other libraries."""
    filename = function[0]
    marker = os.sep + "cnnlab" + os.sep
    return filename.split(marker, 1)[1] if marker in filename else None


def shares(stats):
    """Seconds per cnnlab file, built-ins charged to their callers in proportion to the calls' time."""
    totals = defaultdict(float)
    for function, (_, _, own, _, callers) in stats.stats.items():
        if owner(function) is not None:
            totals[owner(function)] += own
            continue
        charged = {caller: timing[2] for caller, timing in callers.items()}
        weight = sum(charged.values())
        for caller, time in charged.items():
            key = owner(caller) or "(other: Python, NumPy internals)"
            totals[key] += own * (time / weight if weight else 1 / len(charged))
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=models.names())
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--backend", choices=cnnlab.backend.names(), help="cnnlab's kernel backend")
    args = parser.parse_args(argv)
    if args.backend:
        cnnlab.set_backend(args.backend)
    train, _ = cnnlab_steps(args.model, models.create(args.model))
    with cnnlab.process_tuning():
        train()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.steps):
            train()
        profiler.disable()
    totals = shares(pstats.Stats(profiler))
    whole = sum(totals.values())
    print(f"{args.model} ({cnnlab.get_backend()}): {1e3 * whole / args.steps:.1f} ms per training step "
          f"(under the profiler)")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        if seconds / whole >= 0.01:
            print(f"  {100 * seconds / whole:5.1f}%  {name}")


if __name__ == "__main__":
    main()
