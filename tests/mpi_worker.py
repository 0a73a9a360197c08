"""The program ``tests/test_distributed.py`` starts, under ``mpiexec -n N`` or as one plain process.

``python tests/mpi_worker.py SCENARIO OUT`` trains with ``cnnlab.fit`` and writes
what the test compares into the folder OUT, one file per rank (a test's
bookkeeping, not cnnlab's: cnnlab itself writes only from rank 0):

- ``rank{R}.safetensors``: the final state_dict; ``rank{R}.json``: the history,
  the evaluation of a test set, and what the scenario records.

Scenarios:
  same-steps   a network without batch norm or dropout, SGD with momentum; rank 1
               starts from other weights (the broadcast must replace them); the
               last batch of each epoch has 1 sample, so rank 1's share is empty.
  batchnorm    batch norm and dropout: records each rank's first dropout draws and
               its own running mean before the last epoch's averaging.
  bn-steps     batch norm without dropout, SGD, no shuffling: also writes the initial
               weights (``initial.safetensors``), for PyTorch's DDP to start from.
  resume-other each rank resumes from its own checkpoint file, and rank 1's differs.
  raise        rank 1 raises in a callback at its third step.
  mismatch     rank 1 holds one sample fewer.

``python tests/mpi_worker.py torch-ddp OUT`` is the oracle of ``bn-steps``: PyTorch's
DistributedDataParallel on two processes (gloo), from ``OUT/initial.safetensors``,
each process taking the same half of every batch; it writes ``OUT/torch.safetensors``.
"""
import json
import os
import sys

import numpy as np

import cnnlab
from cnnlab import distributed, nn
from cnnlab.training import Callback, ReduceLROnPlateau


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32) + y[:, None, None, None].astype(np.float32)
    return x, y


def plain_net():
    cnnlab.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3))


def batchnorm_only_net():
    cnnlab.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 3))


BN_STEPS = {"samples": 64, "batch_size": 16, "lr": 0.1}


def batchnorm_net():
    cnnlab.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(64, 3))


class RecordDraws(Callback):
    """The first draws of each epoch's default generator (dropout's stream), per epoch."""

    def __init__(self):
        self.draws = []

    def on_epoch_begin(self, epoch, logs=None):
        self.draws.append(cnnlab.random.default_generator().random(4).tolist())


class RecordRunningMean(Callback):
    """The batch-norm layer's running mean after each step: the last is this rank's own, before averaging."""

    def on_batch_end(self, batch, logs=None):
        self.last = self.model[1].running_mean.array.tolist()


class RaiseOnRank1(Callback):
    def on_batch_end(self, batch, logs=None):
        if batch == 2 and distributed.rank() == 1:
            raise RuntimeError("disk full on this rank")


def main(scenario, out):
    rank = distributed.rank()
    record = {}
    if scenario == "same-steps":
        model = plain_net()
        if rank == 1:
            for p in model.parameters():
                p.array[...] = 7.0
        optimizer = cnnlab.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        history = cnnlab.fit(model, data(101), epochs=3, batch_size=10, optimizer=optimizer, validation_split=0.2,
                             seed=4, verbose=False, callbacks=[ReduceLROnPlateau(patience=0, factor=0.5)])
        record["test"] = cnnlab.evaluate(model, data(37, seed=9))
    elif scenario == "batchnorm":
        model, draws, running = batchnorm_net(), RecordDraws(), RecordRunningMean()
        history = cnnlab.fit(model, data(96), epochs=2, batch_size=16, optimizer="adam", seed=4, verbose=False,
                             callbacks=[draws, running])
        record["draws"], record["own_running_mean"] = draws.draws, running.last
    elif scenario == "bn-steps":
        model = batchnorm_only_net()
        if rank == 0:
            cnnlab.save(model.state_dict(), os.path.join(out, "initial.safetensors"))
        optimizer = cnnlab.optim.SGD(model.parameters(), lr=BN_STEPS["lr"])
        history = cnnlab.fit(model, data(BN_STEPS["samples"]), epochs=1, batch_size=BN_STEPS["batch_size"],
                             optimizer=optimizer, shuffle=False, verbose=False)
    elif scenario == "resume-other":
        model = plain_net()
        if rank == 1:
            model[0].bias.array[...] = 1.0
        optimizer = cnnlab.optim.SGD(model.parameters(), lr=0.1)
        path = os.path.join(out, f"checkpoint{rank}.safetensors")  # one file per rank, as on unshared folders
        cnnlab.io.save_checkpoint(path, model, optimizer, epoch=0)
        history = cnnlab.fit(model, data(100), epochs=2, batch_size=10, optimizer=optimizer, verbose=False,
                             resume_from=path)
    elif scenario in ("raise", "mismatch"):
        n = 99 if scenario == "mismatch" and rank == 1 else 100
        model = plain_net()
        history = cnnlab.fit(model, data(n), epochs=50, batch_size=10, verbose=False,
                             callbacks=[RaiseOnRank1()] if scenario == "raise" else [])
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    record["history"] = history.history
    record["world_size"] = distributed.world_size()
    cnnlab.save(model.state_dict(), os.path.join(out, f"rank{rank}.safetensors"))
    with open(os.path.join(out, f"rank{rank}.json"), "w") as file:
        json.dump(record, file)


def torch_ddp(rank, out, address):
    """One of PyTorch's two DDP processes: the steps of ``bn-steps`` on this rank's half of each batch."""
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=address, rank=rank, world_size=2)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    initial = cnnlab.load(os.path.join(out, "initial.safetensors"))
    model.load_state_dict({key: torch.from_numpy(tensor.array.copy()) for key, tensor in initial.items()})
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=BN_STEPS["lr"])
    x, y = data(BN_STEPS["samples"])
    batch, half = BN_STEPS["batch_size"], BN_STEPS["batch_size"] // 2
    for start in range(0, len(x), batch):
        share = slice(start + rank * half, start + (rank + 1) * half)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(ddp(torch.from_numpy(x[share])), torch.from_numpy(y[share]))
        loss.backward()  # DDP averages the gradients over the two processes
        optimizer.step()
    if rank == 0:
        cnnlab.save({key: cnnlab.tensor(value.detach().numpy()) for key, value in model.state_dict().items()},
                    os.path.join(out, "torch.safetensors"))
    dist.destroy_process_group()


if __name__ == "__main__":
    if sys.argv[1] == "torch-ddp":
        import torch.multiprocessing

        folder = os.path.abspath(sys.argv[2])
        torch.multiprocessing.spawn(torch_ddp, args=(folder, f"file://{os.path.join(folder, 'rendezvous')}"),
                                    nprocs=2)
    else:
        main(*sys.argv[1:])
