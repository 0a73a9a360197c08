"""Data-parallel training over MPI: scaling on one machine, and a cost model for N machines.

1. Scaling, for ``lenet5`` (the first 60,000 MNIST training images, 2 epochs) and
   ``keras_mnist_convnet`` (the first 3,200, 1 epoch), read with
   ``cnnlab.data.MNIST(DIR, train=True)`` and trained through ``cnnlab.fit``
   (Adam lr 1e-3, global batch 64, ``seed=0``, the default kernel backend). Each
   configuration runs in a fresh process (or job): a short ``fit`` of a few batches
   first (Numba compilation, caches, first allocations), then ``fit`` over the
   subset, timed from the first epoch's start to the last epoch's end by a
   callback (so the data checks at ``fit``'s start are not timed).

   * ``1 process``: ``python benchmarks/distributed.py --worker ...``, with
     ``OMP_NUM_THREADS=NUMBA_NUM_THREADS=OPENBLAS_NUM_THREADS=1``; batch 64, and
     batch 32 too (one rank's share: the per-step cost that does not shrink with
     the batch shows as t64 < 2 x t32);
   * ``2 ranks``: ``mpiexec -n 2 --bind-to core python benchmarks/distributed.py
     --worker ...``, the same variables inherited (``fit`` limits each rank to one
     thread by itself); each rank gets 32 of every 64 images;
   * ``2 lone processes``: two 1-process workers at batch 32, each pinned to its
     own core, started together (after their warm-ups) and not communicating: what
     two ranks' compute costs side by side on this machine, without MPI;
   * ``torch``: the PyTorch twin (``torch_twins.py``, same weights) in a plain
     loop, 1 thread, batch 64, Adam lr 1e-3, shuffled, same images, inputs scaled
     to [0, 1] once beforehand (as ``compare_torch.py --mnist``).

   * ``2 ranks, batch 128``: the same job at global batch 128, so each rank keeps
     the 1-process batch of 64 (weak scaling, how data-parallel scaling is usually
     quoted: the per-step cost that does not shrink with the batch is not halved away);

   Efficiency = images/s of 2 ranks / (2 x images/s of 1 process at batch 64), at
   global batch 64 (strong scaling) and at 128 (weak scaling).
   The configurations alternate round by round (in the order above on even
   rounds, reversed on odd ones; 1 process and 2 ranks always back to back) and
   the tables give each one's median round, because the machine's speed drifts.

   Communication: during the timed ``fit`` of the 2-rank job, the time spent per
   step inside the two Allreduces and in ``GradientSum.sum_`` (the calls wrapped
   by :func:`timed_collectives`; waits for the other rank included). After
   training, the same calls alone, each a mean over 2,000 calls after a warm-up:
   ``MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, buf)`` on the float32 buffer of
   P + (number of parameter tensors) numbers that ``GradientSum`` sends, on the
   4 float64 numbers of the step's loss, accuracy, sample count and Ctrl-C flag,
   and ``GradientSum.sum_`` whole; the 1-process worker times ``GradientSum.sum_``
   in a world of one (packing and views back, no communication). These "alone"
   packing figures run on gradients that are already views of the buffer.

2. Cost model for N machines, for every zoo model: ring Allreduce moves
   2(N-1)/N x 4 bytes x P per step over each link; on 10 GbE (1.25e9 bytes/s)
   t_comm at N = 8 and 64, and the weak-scaling efficiency
   t_compute / (t_compute + t_comm), where t_compute is the step time of a batch
   of 64 in 1 process x 1 thread on this machine (the lenet5 and keras_mnist_convnet
   figures of part 1; the other models through ``fit`` on MNIST if their input is
   MNIST-sized, else on random inputs of their native shape). cnnlab does not
   overlap communication with backward, so the two add up. A second pair of
   columns adds a latency term 2(N-1) x 50 us per step.

Usage (as root, Open MPI also wants ``OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`` in the environment)::

    python benchmarks/distributed.py --data-dir DIR --rounds 5      # both parts (RESULTS.md)
    python benchmarks/distributed.py --data-dir DIR --models lenet5 --no-cost-model
    python benchmarks/distributed.py --data-dir DIR --mpiexec "mpiexec --bind-to core"

DIR holds the four MNIST IDX .gz files. Prints markdown tables.
"""
import argparse
import contextlib
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time

import numpy as np

import cnnlab
from cnnlab import distributed, models, optim
from cnnlab.data import MNIST, Subset, TensorDataset
from cnnlab.training.callbacks import Callback
from cnnlab.training.data_parallel import GradientSum

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SCALED = ("lenet5", "keras_mnist_convnet")
BATCH = 64
#: images and timed epochs per scaled model: 10-20 s of 1-process training on a 2-core Xeon
SUBSET = {"lenet5": (60000, 2), "keras_mnist_convnet": (3200, 1)}
WARMUP_BATCHES = 5
REPEATS = 2000  # calls per collective-time measurement
ONE_THREAD = {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
MNIST_SHAPE = (1, 28, 28)

LINK_BYTES_PER_S = 1.25e9  # 10 GbE
ALPHA = 50e-6              # per-message latency of the optional latency term
MACHINES = (8, 64)


# ----------------------------------------------------------------- workers
def parameter_count(model):
    return sum(p.array.size for p in model.parameters() if p.requires_grad)


def training_set(name, data_dir, images):
    """The first ``images`` MNIST training images for MNIST-sized models, else random inputs of the native shape."""
    shape = models.spec(name).input_shape
    if shape == MNIST_SHAPE:
        return Subset(MNIST(data_dir, train=True), np.arange(images))
    rng = np.random.default_rng(0)
    return TensorDataset(rng.standard_normal((images, *shape)).astype(np.float32), rng.integers(0, 10, images))


class EpochTimer(Callback):
    """Seconds from the first epoch's start to the last epoch's end (validation-free fits: the training)."""

    def __init__(self):
        self.start = self.stop = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.stop = time.perf_counter()

    @property
    def seconds(self):
        return self.stop - self.start


def seconds_per_call(call, repeats, world):
    """Mean seconds of ``call()`` over ``repeats`` calls, after a warm-up, all ranks starting together."""
    for _ in range(max(10, repeats // 20)):
        call()
    world.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats


def collective_times(world, optimizer, repeats):
    """Microseconds per call of the step's two Allreduces and of ``GradientSum.sum_`` (this world's size)."""
    gradients = GradientSum(optimizer, world)
    times = {"floats_sent": int(gradients.flat.size)}
    if world.size > 1:
        from mpi4py import MPI

        comm, flat, small = MPI.COMM_WORLD, gradients.flat, np.zeros(4, dtype=np.float64)
        for key, buffer in (("allreduce_grad_us", flat), ("allreduce_small_us", small)):
            times[key] = 1e6 * seconds_per_call(lambda: comm.Allreduce(MPI.IN_PLACE, buffer), repeats, world)
    times["gradient_sum_us"] = 1e6 * seconds_per_call(lambda: gradients.sum_(1 / world.size), repeats // 4, world)
    return times


@contextlib.contextmanager
def timed_collectives(world):
    """Within the block, seconds spent in the two Allreduces of each step and in ``GradientSum.sum_``.

    Wraps this world's ``sum_`` and ``GradientSum.sum_`` (restored on exit), so the time
    a rank waits there for the other one is counted too. Yields a dict: ``'gradients'``
    (the flat buffer's Allreduce), ``'totals'`` (the small one), ``'gradient_sum'``
    (packing, the gradients' Allreduce and the views back).
    """
    seconds = dict.fromkeys(("gradients", "totals", "gradient_sum"), 0.0)
    plain_sum, plain_gradient_sum = world.sum_, GradientSum.sum_

    def sum_(array):
        start = time.perf_counter()
        try:
            return plain_sum(array)
        finally:
            seconds["totals" if array.size <= 16 else "gradients"] += time.perf_counter() - start

    def gradient_sum(self, scale):
        start = time.perf_counter()
        try:
            return plain_gradient_sum(self, scale)
        finally:
            seconds["gradient_sum"] += time.perf_counter() - start

    world.sum_, GradientSum.sum_ = sum_, gradient_sum
    try:
        yield seconds
    finally:
        del world.sum_
        GradientSum.sum_ = plain_gradient_sum


def cnnlab_worker(args):
    """Train one model through ``fit`` (1 process, or one rank of an MPI job); rank 0 prints JSON."""
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    world = distributed.world()
    train = training_set(args.worker[1], args.data_dir, args.images)
    model = models.create(args.worker[1])
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    warmup = Subset(train, np.arange(min(len(train), WARMUP_BATCHES * args.batch)))
    cnnlab.fit(model, warmup, batch_size=args.batch, optimizer=optimizer, seed=0, verbose=False)
    if args.hold:  # one of two lone processes: start the timed part when the driver says so
        print("ready", flush=True)
        sys.stdin.readline()
    timer = EpochTimer()
    with timed_collectives(world) as inside:
        cnnlab.fit(model, train, epochs=args.epochs, batch_size=args.batch, optimizer=optimizer, seed=0,
                   verbose=False, callbacks=[timer])
    steps = args.epochs * math.ceil(len(train) / args.batch)
    result = {"images_per_s": args.epochs * len(train) / timer.seconds, "step_ms": 1e3 * timer.seconds / steps,
              "parameters": parameter_count(model), "ranks": world.size}
    if world.size > 1:  # per step, during training: the Allreduces (waits included) and the packing around one
        result.update({"in_allreduce_grad_us": 1e6 * inside["gradients"] / steps,
                       "in_allreduce_small_us": 1e6 * inside["totals"] / steps,
                       "in_packing_us": 1e6 * (inside["gradient_sum"] - inside["gradients"]) / steps})
    if args.repeats:
        result.update(collective_times(world, optimizer, args.repeats))
    if world.rank == 0:
        print(json.dumps(result), flush=True)


def torch_worker(args):
    """The torch twin of the model on the same images, 1 thread, in a plain loop; prints JSON."""
    import torch
    from torch_twins import twin_of

    torch.set_num_threads(1)
    name = args.worker[1]
    train = MNIST(args.data_dir, train=True)
    images = torch.from_numpy(train.data[: args.images]).float().div_(255)
    labels = torch.from_numpy(train.targets[: args.images])
    twin = twin_of(name, models.create(name))
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)
    twin.train()

    def epoch(order):
        for index in order.split(args.batch):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(twin(images[index]), labels[index]).backward()
            optimizer.step()

    generator = torch.Generator().manual_seed(0)
    epoch(torch.arange(min(len(images), WARMUP_BATCHES * args.batch)))
    start = time.perf_counter()
    for _ in range(args.epochs):
        epoch(torch.randperm(len(images), generator=generator))
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_s": args.epochs * len(images) / seconds,
                      "step_ms": 1e3 * seconds / (args.epochs * math.ceil(len(images) / args.batch))}), flush=True)


# ------------------------------------------------------------------ driver
class Launcher:
    """Runs workers as subprocesses (one process, or an MPI job) and collects their JSON answers."""

    def __init__(self, args):
        self.data_dir, self.mpiexec = args.data_dir, shlex.split(args.mpiexec)
        self.env = {**os.environ, **ONE_THREAD}

    def run(self, kind, name, images, epochs, batch=BATCH, ranks=1, repeats=0, lone=1):
        """One worker (``ranks`` > 1: an MPI job; ``lone`` = 2: two independent processes at once)."""
        command = [sys.executable, os.path.abspath(__file__), "--worker", kind, name, "--data-dir", self.data_dir,
                   "--images", str(images), "--epochs", str(epochs), "--batch", str(batch), "--repeats", str(repeats)]
        if ranks > 1:
            command = [*self.mpiexec, "-n", str(ranks), *command]
        if lone > 1:
            return self._together(command, lone)
        done = subprocess.run(command, env=self.env, capture_output=True, text=True)
        return self._answer(command, done.returncode, done.stdout, done.stderr)

    def _together(self, command, count):
        """``count`` copies of a worker, one per core, timed from the same moment; images/s summed."""
        cpus = sorted(os.sched_getaffinity(0))[:count]
        workers = [subprocess.Popen([*command, "--cpu", str(cpu), "--hold"], env=self.env, text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for cpu in cpus]
        for worker in workers:  # every warm-up done
            while worker.stdout.readline() not in ("ready\n", ""):
                pass
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        answers = []
        for worker in workers:
            stdout, stderr = worker.communicate()
            answers.append(self._answer(command, worker.returncode, stdout, stderr))
        return {"images_per_s": sum(a["images_per_s"] for a in answers),
                "step_ms": statistics.mean(a["step_ms"] for a in answers)}

    @staticmethod
    def _answer(command, returncode, stdout, stderr):
        if returncode:
            sys.exit(f"{shlex.join(command)} failed ({returncode}):\n{stderr}")
        return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def scaling_configurations(name):
    """(label, launcher keyword arguments) of the configurations compared on ``name``.

    1 process first, the 2-rank job right after it (the pair the efficiency compares),
    then the diagnostic ones and torch.
    """
    images, epochs = SUBSET[name]
    common = {"images": images, "epochs": epochs}
    return [("1 process", dict(kind="cnnlab", repeats=REPEATS, **common)),
            ("2 ranks", dict(kind="cnnlab", ranks=2, repeats=REPEATS, **common)),
            ("2 ranks, batch 128", dict(kind="cnnlab", ranks=2, batch=2 * BATCH, **common)),
            ("1 process, batch 32", dict(kind="cnnlab", batch=BATCH // 2, **common)),
            ("2 lone processes", dict(kind="cnnlab", batch=BATCH // 2, lone=2, **common)),
            ("torch", dict(kind="torch", **common))]


def step_images(seconds_per_step, target_seconds=4.0):
    """Images for a 1-process step-time measurement of about ``target_seconds`` (5 to 100 steps of 64)."""
    return BATCH * int(min(100, max(5, round(target_seconds / seconds_per_step))))


def measure(args, launcher):
    """Every configuration, ``args.rounds`` alternating rounds: {(model, label): [result per round]}."""
    results = {}
    others = [name for name in models.names() if name not in SCALED] if args.cost_model else []
    sizes = {}
    for r in range(args.rounds):
        for name in args.models:
            configurations = scaling_configurations(name)
            for label, kwargs in (configurations if r % 2 == 0 else configurations[::-1]):
                result = launcher.run(name=name, **kwargs)
                results.setdefault((name, label), []).append(result)
                print(f"round {r}: {name}, {label}: {result['images_per_s']:.0f} img/s", file=sys.stderr, flush=True)
        for name in others:
            if name not in sizes:  # a first short run sizes the measurement
                sizes[name] = step_images(launcher.run("cnnlab", name, images=BATCH * 5, epochs=1)["step_ms"] / 1e3)
            result = launcher.run("cnnlab", name, images=sizes[name], epochs=1)
            results.setdefault((name, "1 process"), []).append(result)
            print(f"round {r}: {name}: {result['step_ms']:.1f} ms/step", file=sys.stderr, flush=True)
    return results


def median(results, key):
    return statistics.median(result[key] for result in results)


def scaling_tables(args, results):
    print("| model | P | 1 process x 1 thread, img/s | 2 ranks x 1 thread, img/s | speed-up | efficiency "
          "| efficiency per round | weak scaling: 2 ranks, global batch 128, img/s | weak-scaling efficiency "
          "| torch 1 thread, img/s | cnnlab 1 process / torch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        one, two, weak, torch = (results[(name, label)] for label in ("1 process", "2 ranks", "2 ranks, batch 128",
                                                                      "torch"))
        single, double, wide, twin = (median(r, "images_per_s") for r in (one, two, weak, torch))
        rounds = [b["images_per_s"] / (2 * a["images_per_s"]) for a, b in zip(one, two)]
        print(f"| {name} | {one[0]['parameters']:,} | {single:.0f} | {double:.0f} | {double / single:.2f}x "
              f"| **{100 * double / (2 * single):.0f}%** | {min(rounds):.0%}-{max(rounds):.0%} | {wide:.0f} "
              f"| {100 * wide / (2 * single):.0f}% | {twin:.0f} | {single / twin:.2f}x |")
    print()
    print("Where the efficiency goes (median step times; batch 32 is one rank's share of 64):")
    print()
    print("| model | 1 process, batch 64, ms | 1 process, batch 32, ms | 2 lone processes, batch 32, ms "
          "| 2 ranks, ms | batch halving: t64 / (2 t32) | side by side: t32 / t_lone "
          "| Allreduces and lockstep: t_lone / t_ranks |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        t64, t32, lone, ranks = (median(results[(name, label)], "step_ms")
                                 for label in ("1 process", "1 process, batch 32", "2 lone processes", "2 ranks"))
        print(f"| {name} | {t64:.2f} | {t32:.2f} | {lone:.2f} | {ranks:.2f} | {100 * t64 / (2 * t32):.0f}% "
              f"| {100 * t32 / lone:.0f}% | {100 * lone / ranks:.0f}% |")
    print()
    print("(The three factors multiply to t64 / (2 t_ranks), the efficiency from the medians of step times.)")
    print()
    print(f"Communication per step, 2 ranks on one machine (shared memory). 'Alone': mean of {REPEATS} calls "
          "after training; 'in training': time per step inside the calls during the timed fit, waits for the "
          "other rank included. Medians over the rounds:")
    print()
    print("| model | float32 sent (P + tensors) | alone: Allreduce float32, us | alone: Allreduce 4 float64, us "
          "| alone: GradientSum.sum_, us | alone: packing only (1 process), us | alone: share of 2-rank step "
          "| in training: gradient Allreduce, us | in training: small Allreduce, us | in training: packing, us "
          "| in training: share of 2-rank step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        one, two = results[(name, "1 process")], results[(name, "2 ranks")]
        step_us = 1e3 * median(two, "step_ms")
        grad, small, whole, packing = (median(r, key) for r, key in (
            (two, "allreduce_grad_us"), (two, "allreduce_small_us"), (two, "gradient_sum_us"),
            (one, "gradient_sum_us")))
        in_grad, in_small, in_packing = (median(two, f"in_{key}_us") for key in ("allreduce_grad", "allreduce_small",
                                                                                 "packing"))
        print(f"| {name} | {two[0]['floats_sent']:,} ({4 * two[0]['floats_sent'] / 1e6:.2f} MB) | {grad:.0f} "
              f"| {small:.1f} | {whole:.0f} | {packing:.0f} | {(whole + small) / step_us:.1%} | {in_grad:.0f} "
              f"| {in_small:.0f} | {in_packing:.0f} | {(in_grad + in_small + in_packing) / step_us:.1%} |")


def cost_model_table(args, results):
    names = [name for name in models.names() if (name, "1 process") in results]
    print(f"Ring Allreduce over 10 GbE ({LINK_BYTES_PER_S:.3g} bytes/s), 2(N-1)/N x 4 bytes x P per step; "
          f"t_compute: 1 process x 1 thread, batch 64, this machine; weak scaling (global batch 64 x N):")
    print()
    head = " | ".join(f"t_comm N={n}, ms | efficiency N={n}" for n in MACHINES)
    alpha = " | ".join(f"efficiency N={n}, +latency" for n in MACHINES)
    print(f"| model | input | P | t_compute, ms | {head} | {alpha} |")
    print("|---|---|---:|---:|" + "---:|---:|" * len(MACHINES) + "---:|" * len(MACHINES))
    for name in names:
        spec = models.spec(name)
        P = results[(name, "1 process")][0]["parameters"]
        compute = median(results[(name, "1 process")], "step_ms") / 1e3
        source = "MNIST" if spec.input_shape == MNIST_SHAPE else "random " + "x".join(map(str, spec.input_shape))
        cells, latency = [], []
        for n in MACHINES:
            comm = 2 * (n - 1) / n * 4 * P / LINK_BYTES_PER_S
            cells.append(f"{1e3 * comm:.2f} | {100 * compute / (compute + comm):.1f}%")
            latency.append(f"{100 * compute / (compute + comm + 2 * (n - 1) * ALPHA):.1f}%")
        print(f"| {name} | {source} | {P:,} | {1e3 * compute:.1f} | {' | '.join(cells)} | {' | '.join(latency)} |")
    print()
    print(f"(+latency: adds 2(N-1) x {ALPHA * 1e6:.0f} us per step for the gradient Allreduce's ring steps.)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, metavar="DIR", help="folder with the four MNIST IDX .gz files")
    parser.add_argument("--models", nargs="+", default=list(SCALED), choices=SCALED,
                        help="models of the scaling measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (medians reported)")
    parser.add_argument("--no-cost-model", dest="cost_model", action="store_false",
                        help="skip the step times of the other zoo models")
    parser.add_argument("--mpiexec", default="mpiexec --bind-to core", help="the launcher command, before -n 2")
    # a worker's arguments (the driver passes them)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--images", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        (torch_worker if args.worker[0] == "torch" else cnnlab_worker)(args)
        return
    import torch

    print(f"cnnlab backend {cnnlab.get_backend()!r}; {os.cpu_count()} cores; torch {torch.__version__}; "
          f"NumPy {np.__version__}; every process: " + " ".join(f"{k}={v}" for k, v in ONE_THREAD.items()))
    print()
    results = measure(args, Launcher(args))
    scaling_tables(args, results)
    if args.cost_model:
        print()
        cost_model_table(args, results)


if __name__ == "__main__":
    main()
