"""cnnlab vs PyTorch on the CPU, side by side in one process.

For each zoo model (``lenet5``, ``simple_cnn``, ``keras_mnist_convnet``,
``tiny_vgg``) the two libraries run the same network with the same weights
(cnnlab's ``state_dict`` copied into the torch twin of ``torch_twins.py``):

* training images/s: batch 128, Adam (lr 1e-3), cross-entropy; one step is
  forward + backward + optimizer step;
* inference images/s: batch 512, eval mode, no gradient;
* peak memory: growth of the resident set over three training steps: the peak
  (Linux's ``VmHWM``, reset through ``/proc/self/clear_refs`` once the model and
  the batch are built and one warm-up step has run) minus the resident set at
  that moment. Each
  (library, model) pair is measured in a fresh subprocess, so neither library's
  allocator caches or the other's imports count; it covers NumPy's and
  PyTorch's allocations alike (tracemalloc would miss PyTorch's).

Timing alternates the libraries round by round (cnnlab first on even rounds,
torch first on odd ones), so drift of the machine's load hits both equally;
each round times a few steps after a warm-up, and the table reports each
library's median round. Both use every core: NumPy's BLAS threads default to
the core count and torch is set to it with ``torch.set_num_threads``.
The whole comparison runs inside ``cnnlab.process_tuning()``, as ``fit`` and
the command line do, so both libraries get its malloc settings (cnnlab's GEMM
pinning touches only NumPy's OpenBLAS): leaving the scope between rounds would
fix glibc's mmap threshold at its minimum for torch's rounds, which glibc
otherwise raises as it goes, and slow torch down. ``--backend`` picks cnnlab's
kernel backend.

``--mnist DIR`` adds one epoch of ``lenet5`` on full MNIST (the four IDX .gz
files in DIR) through ``cnnlab.fit`` (the code path of ``cnnlab train``) and
the same epoch in a plain PyTorch loop: batch 64, Adam, shuffled.

Usage::

    python benchmarks/compare_torch.py                      # speed table
    python benchmarks/compare_torch.py --memory             # plus peak memory
    python benchmarks/compare_torch.py --mnist path/to/mnist
    python benchmarks/compare_torch.py --backend numpy      # one backend (default: cnnlab's default)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import cnnlab
from cnnlab import functional as F
from cnnlab import models, optim

try:
    import torch
except ImportError:  # cnnlab alone still gets measured
    torch = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODELS = ("lenet5", "simple_cnn", "keras_mnist_convnet", "tiny_vgg")
TRAIN_BATCH, INFER_BATCH = 128, 512


# ------------------------------------------------------------------ one step
def batch(name, size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size,) + models.spec(name).input_shape).astype(np.float32)
    return x, rng.integers(0, 10, size)


def cnnlab_steps(name, model):
    """``train()`` and ``infer()`` closures running one step of ``model`` in cnnlab."""
    x, y = batch(name, TRAIN_BATCH)
    xi, _ = batch(name, INFER_BATCH, seed=1)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x, y, xi = cnnlab.Tensor(x), cnnlab.Tensor(y), cnnlab.Tensor(xi)

    def train():
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    def infer():
        model.eval()
        with cnnlab.no_grad():
            model(xi)
    return train, infer


def torch_steps(name, twin):
    """The same two closures for the torch twin."""
    x, y = (torch.from_numpy(a) for a in batch(name, TRAIN_BATCH))
    xi = torch.from_numpy(batch(name, INFER_BATCH, seed=1)[0])
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)

    def train():
        twin.train()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(twin(x), y).backward()
        optimizer.step()

    def infer():
        twin.eval()
        with torch.no_grad():
            twin(xi)
    return train, infer


def _time(step, steps):
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start


def compare(name, rounds, seconds):
    """Median images/s of both libraries (training and inference) over alternating rounds."""
    model = models.create(name)
    libs = {"cnnlab": cnnlab_steps(name, model)}
    if torch is not None:
        from torch_twins import twin_of
        libs["torch"] = torch_steps(name, twin_of(name, model))
    result = {}
    for mode, size in (("train", TRAIN_BATCH), ("infer", INFER_BATCH)):
        index = 0 if mode == "train" else 1
        steps = {}
        for lib, closures in libs.items():  # warm up, and size a round to about `seconds`
            closures[index]()
            steps[lib] = max(1, round(seconds / max(_time(closures[index], 1), 1e-4)))
        rates = {lib: [] for lib in libs}
        for r in range(rounds):
            for lib in (list(libs) if r % 2 == 0 else list(libs)[::-1]):
                rates[lib].append(steps[lib] * size / _time(libs[lib][index], steps[lib]))
        for lib, values in rates.items():
            result[f"{lib}_{mode}"] = statistics.median(values)
    return result


# ------------------------------------------------------------------- memory
def _status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def measure_memory(lib, name):
    """Peak resident-set growth (MiB) over three training steps; run in a fresh process."""
    model = models.create(name)
    if lib == "torch":
        from torch_twins import twin_of
        train, _ = torch_steps(name, twin_of(name, model))
    else:
        train, _ = cnnlab_steps(name, model)
    with cnnlab.process_tuning():
        train()  # one warm-up step: one-time costs (loading compiled kernels, first allocations) are not the step's
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident set (VmHWM) to the current one
    before = _status_kib("VmRSS")
    with cnnlab.process_tuning():
        for _ in range(3):
            train()
    return (_status_kib("VmHWM") - before) / 1024


def memory_in_subprocess(lib, name):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--backend", cnnlab.get_backend(),
                          "--memory-of", lib, name],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------- MNIST epoch
def mnist_epoch(folder, seed=0):
    """Seconds and test accuracy of one lenet5 epoch on MNIST: ``cnnlab.fit`` and a plain torch loop."""
    from cnnlab.data import MNIST

    train, test = MNIST(folder, train=True), MNIST(folder, train=False)
    results = {}
    cnnlab.manual_seed(seed)
    model = models.create("lenet5")
    start = time.perf_counter()
    cnnlab.fit(model, train, epochs=1, batch_size=64, optimizer="adam", seed=seed, verbose=False)
    results["cnnlab_seconds"] = time.perf_counter() - start
    model.eval()
    with cnnlab.no_grad():
        logits = model(cnnlab.Tensor(test.data.astype(np.float32) / 255)).array
    results["cnnlab_accuracy"] = float((logits.argmax(1) == test.targets).mean())
    if torch is None:
        return results
    from torch_twins import twin_of

    twin = twin_of("lenet5", models.create("lenet5"))
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)
    images = torch.from_numpy(train.data).float().div_(255)
    labels = torch.from_numpy(train.targets)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    twin.train()
    for index in torch.randperm(len(images), generator=generator).split(64):
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(twin(images[index]), labels[index]).backward()
        optimizer.step()
    results["torch_seconds"] = time.perf_counter() - start
    twin.eval()
    with torch.no_grad():
        logits = twin(torch.from_numpy(test.data).float().div_(255))
    results["torch_accuracy"] = float((logits.argmax(1).numpy() == test.targets).mean())
    return results


# ------------------------------------------------------------------- report
def threads_note():
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset (all cores)")
    note = (f"cnnlab backend {cnnlab.get_backend()!r}; {os.cpu_count()} cores; "
            f"NumPy BLAS threads: OPENBLAS_NUM_THREADS={blas}")
    if torch is not None:
        note += f"; torch {torch.__version__}, torch.get_num_threads()={torch.get_num_threads()}"
    return note + f"; NumPy {np.__version__}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per measurement (median reported)")
    parser.add_argument("--seconds", type=float, default=1.0, help="approximate length of one library's round")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory (subprocesses)")
    parser.add_argument("--mnist", metavar="DIR", help="folder with the four MNIST .gz files: time one lenet5 epoch")
    parser.add_argument("--backend", choices=list(cnnlab.available_backends()), help="cnnlab's kernel backend")
    parser.add_argument("--memory-of", nargs=2, metavar=("LIB", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.backend:
        cnnlab.set_backend(args.backend)
    if torch is not None:
        torch.set_num_threads(os.cpu_count())
    if args.memory_of:
        print(json.dumps(measure_memory(*args.memory_of)))
        return
    print(threads_note())
    print()
    print("| model | train img/s cnnlab | train img/s torch | train ratio | infer img/s cnnlab | infer img/s torch "
          "| infer ratio |" + (" peak MiB cnnlab | peak MiB torch |" if args.memory else ""))
    print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.memory else ""))
    for name in args.models:
        with cnnlab.process_tuning():
            r = compare(name, args.rounds, args.seconds)
        t_train, t_infer = r.get("torch_train", float("nan")), r.get("torch_infer", float("nan"))
        row = (f"| {name} | {r['cnnlab_train']:.0f} | {t_train:.0f} | {r['cnnlab_train'] / t_train:.2f}x "
               f"| {r['cnnlab_infer']:.0f} | {t_infer:.0f} | {r['cnnlab_infer'] / t_infer:.2f}x |")
        if args.memory:
            mem = [memory_in_subprocess(lib, name) for lib in ("cnnlab", "torch")]
            row += f" {mem[0]:.0f} | {mem[1]:.0f} |"
        print(row, flush=True)
    if args.mnist:
        r = mnist_epoch(args.mnist)
        print()
        print("| one MNIST epoch, lenet5, batch 64, Adam | seconds | test accuracy |")
        print("|---|---:|---:|")
        print(f"| cnnlab (`cnnlab.fit`) | {r['cnnlab_seconds']:.1f} | {r['cnnlab_accuracy']:.4f} |")
        if "torch_seconds" in r:
            print(f"| PyTorch loop | {r['torch_seconds']:.1f} | {r['torch_accuracy']:.4f} |")
            print(f"| ratio (torch time / cnnlab time) | {r['torch_seconds'] / r['cnnlab_seconds']:.2f}x | |")


if __name__ == "__main__":
    main()
