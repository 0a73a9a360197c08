"""cnnlab's own training and inference rates, for comparing engine settings between processes.

Run it once per setting and compare the lines. The rates are measured inside
``cnnlab.process_tuning()``, as ``fit`` runs; its settings are read from the
environment, so each needs a process:

    CNNLAB_MALLOC_TUNING=0 python benchmarks/engine_rates.py      # glibc's malloc defaults
    python benchmarks/engine_rates.py                             # cnnlab's defaults
    CNNLAB_SINGLE_THREAD_FLOPS=0 python benchmarks/engine_rates.py  # no single-thread small GEMMs
    python benchmarks/engine_rates.py --no-tuning                 # outside process_tuning altogether
    python benchmarks/engine_rates.py --backend numpy             # one kernel backend

Training: batch 128, Adam, cross-entropy; inference: batch 512, eval mode, no
gradient. Each rate is the median of ``--rounds`` rounds of ``--seconds``.
"""
import argparse
import contextlib
import time

import numpy as np

import cnnlab
from cnnlab import functional as F
from cnnlab import models
from cnnlab.optim import Adam

INPUTS = {"lenet5": (1, 28, 28), "simple_cnn": (3, 32, 32), "keras_mnist_convnet": (1, 28, 28),
          "tiny_vgg": (3, 64, 64)}


def rate(name, training, rounds, seconds):
    """Images per second of one model, training or inference."""
    rng = np.random.default_rng(0)
    cnnlab.manual_seed(0)
    model = models.create(name)
    batch = 128 if training else 512
    x = rng.standard_normal((batch,) + INPUTS[name]).astype(np.float32)
    if training:
        model.train()
        optimizer, y = Adam(model.parameters(), lr=1e-3), rng.integers(0, 10, batch)

        def step():
            optimizer.zero_grad()
            F.cross_entropy(model(cnnlab.Tensor(x)), cnnlab.Tensor(y)).backward()
            optimizer.step()
    else:
        model.eval()

        def step():
            with cnnlab.no_grad():
                model(cnnlab.Tensor(x))
    step()  # warm-up
    times = []
    for _ in range(rounds):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()
            steps += 1
        times.append((time.perf_counter() - start) / steps)
    return batch / float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(INPUTS), choices=list(INPUTS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.7)
    parser.add_argument("--backend", choices=list(cnnlab.available_backends()), help="cnnlab's kernel backend")
    parser.add_argument("--no-tuning", action="store_true", help="measure outside cnnlab.process_tuning()")
    args = parser.parse_args()
    if args.backend:
        cnnlab.set_backend(args.backend)
    with contextlib.nullcontext() if args.no_tuning else cnnlab.process_tuning():
        for name in args.models:
            train = rate(name, True, args.rounds, args.seconds)
            infer = rate(name, False, args.rounds, args.seconds)
            print(f"{name} ({cnnlab.get_backend()}): train {train:.0f} img/s, inference {infer:.0f} img/s", flush=True)


if __name__ == "__main__":
    main()
