"""Data-parallel training over MPI: one process (rank) per share of each batch.

``mpiexec -n N cnnlab train ...`` (or ``mpiexec -n N python script.py`` around
:func:`cnnlab.fit`) starts N copies of the program; each is a rank. This module
tells them apart and carries the few collective operations training needs, on
mpi4py over the MPI library the launcher belongs to. It imports mpi4py (which
starts MPI) only when a launcher started more than one process: run without
one, everything here answers for a single process and nothing is imported.

What ``fit`` does with it (the semantics, also in the README):

- the batch size is the global batch; step k's samples are those one process
  would use at step k, split into N contiguous shares, one per rank (equal, as the
  batch must be a multiple of N; a shorter last batch's differ by at most one);
- weights start as rank 0's (broadcast); each step's gradients, scaled by each
  rank's share of the batch, are summed in place by one ``Allreduce`` over a
  flat buffer, after the loss, metrics and the Ctrl-C flag in a small one, so
  every rank applies the same update, logs the same numbers and stops at the
  same step;
- batch-norm layers normalise with each rank's own batch statistics; their
  running statistics are averaged at every epoch's end;
- dropout and augmentation draw from streams distinct per rank, each a pure
  function of ``(seed, epoch, rank)``;
- validation and evaluation split the set between the ranks and sum the results;
- only rank 0 prints and writes files.

An exception on one rank ends the whole job (:func:`abort_on_error`): the others
would otherwise wait forever in the next collective operation.
"""
import contextlib
import hashlib
import json
import os
import sys

import numpy as np

#: Environment variables through which launchers give each process the size of its job:
#: Open MPI's, then the PMI ones of MPICH, Intel MPI and other Hydra-based launchers.
_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")

_world = None


class DistributedError(ValueError):
    """A refusal every rank reaches together (the ranks' datasets differ, a batch does not divide).

    Every rank raises it at the same point, so it ends the job like any error in a
    single process, without aborting: the command line prints it once, from rank 0.
    """


def _from_environment(names, environ=os.environ):
    for name in names:
        text = environ.get(name, "").strip()
        if text.isdigit():
            return int(text)
    return None


def launch_size(environ=os.environ):
    """How many processes an MPI launcher started (1 without a launcher), read from the environment."""
    return _from_environment(_SIZE_VARIABLES, environ) or 1


def launched(environ=os.environ):
    """Whether an MPI launcher started this process as one of several (read from the environment)."""
    return launch_size(environ) > 1


def launch_rank(environ=os.environ):
    """This process's rank as the launcher set it (0 without a launcher), without starting MPI."""
    return _from_environment(_RANK_VARIABLES, environ) or 0


class World:
    """The processes of this job: ``rank``, ``size``, and the collective operations training uses.

    A single process (no launcher) is a world of size 1 whose operations return at once.
    All arrays passed in must be C-contiguous; the operations are MPI's buffer ones
    (no Python objects are pickled).
    """

    def __init__(self, comm=None):
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.local_size = 1 if comm is None else _local_size(comm)

    def __repr__(self):
        return f"World(rank={self.rank}, size={self.size}, local_size={self.local_size})"

    def sum_(self, array):
        """Sum ``array`` over the ranks, in place (every rank gets the sum); returns it."""
        if self.comm is not None:
            from mpi4py import MPI

            self.comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
        return array

    def broadcast_(self, array, root=0):
        """Overwrite ``array`` with rank ``root``'s, in place; returns it."""
        if self.comm is not None:
            self.comm.Bcast(array, root=root)
        return array

    def gather_all(self, array):
        """Every rank's ``array`` (same shape everywhere), stacked: shape ``(size, *array.shape)``."""
        array = np.ascontiguousarray(array)
        out = np.empty((self.size, *array.shape), dtype=array.dtype)
        if self.comm is None:
            out[0] = array
        else:
            self.comm.Allgather(array, out)
        return out

    def gather_json(self, value):
        """Every rank's JSON-able ``value``, as a list by rank (sent as UTF-8 bytes, never pickled)."""
        data = np.frombuffer(json.dumps(value, sort_keys=True).encode(), dtype=np.uint8)
        lengths = self.gather_all(np.array([len(data)], dtype=np.int64))[:, 0]
        padded = np.zeros(int(lengths.max()), dtype=np.uint8)
        padded[: len(data)] = data
        rows = self.gather_all(padded)
        return [json.loads(bytes(row[:n]).decode()) for row, n in zip(rows, lengths)]

    def barrier(self):
        """Return once every rank has called it."""
        if self.comm is not None:
            self.comm.Barrier()

    def abort(self, message, code=1):
        """Print ``message`` as one line naming this rank, then end every rank of the job (MPI Abort)."""
        # sys.__stderr__: the command line sends the other ranks' sys.stderr to /dev/null
        print(f"rank {self.rank} of {self.size}: {message}", file=sys.__stderr__, flush=True)
        if self.comm is None:
            raise SystemExit(code)
        self.comm.Abort(code)

    def threads(self, cores=None, affinity=None):
        """Threads for this rank: the cores it may run on, shared with the other ranks on its machine.

        ``min(cores this process may use, machine's cores // ranks on this machine)``, at least 1
        (a launcher that binds each rank to one core gives 1).
        """
        if cores is None:
            cores = os.cpu_count() or 1
        if affinity is None:
            affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
        return max(1, min(affinity, cores // self.local_size))


def _local_size(comm):
    """How many ranks of ``comm`` share this machine."""
    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return local.Get_size()
    finally:
        local.Free()


def world():
    """This job's :class:`World`: MPI's when a launcher started several processes, else a single process.

    The first call in a launched process imports mpi4py, which starts MPI.
    """
    global _world
    if _world is None:
        if not launched():
            return World()
        try:
            from mpi4py import MPI
        except ImportError as error:
            raise ImportError(f"this process is one of {launch_size()} started by an MPI "
                              f"launcher, but mpi4py is not installed ({error}): pip install 'cnnlab[mpi]'") from None
        _world = World(MPI.COMM_WORLD)
    return _world


def rank():
    """This process's rank, 0 to ``world_size() - 1`` (0 without a launcher)."""
    return world().rank


def world_size():
    """How many processes train together (1 without a launcher)."""
    return world().size


def is_main():
    """Whether this is rank 0, the one that prints and writes files."""
    return world().rank == 0


def barrier():
    """Wait until every rank gets here (returns at once in a single process)."""
    world().barrier()


@contextlib.contextmanager
def abort_on_error(coordinated=()):
    """In a job of several ranks, end the whole job when an exception leaves the block on this rank.

    The other ranks would otherwise wait forever for this one in the next collective
    operation. The exception becomes one line naming the rank (:meth:`World.abort`).
    Exceptions of the ``coordinated`` types, and :class:`DistributedError`, pass: every
    rank raises them at the same point. In a single process the block runs as written.
    """
    if not launched():
        yield
        return
    try:
        yield
    except (DistributedError, *coordinated):
        raise
    except BaseException as error:  # noqa: BLE001 - everything else must end the job, Ctrl-C and SystemExit too
        if isinstance(error, SystemExit) and error.code in (0, None):
            raise
        text = " ".join(str(error).split())
        world().abort(f"cnnlab: {type(error).__name__}: {text}" if text else f"cnnlab: {type(error).__name__}",
                      error.code if isinstance(error, SystemExit) and isinstance(error.code, int) else 1)


def fingerprint(dataset):
    """``(samples, checksum)`` of ``dataset``: every array of an array-backed one, else up to 64 samples.

    The checksum is 63 bits of BLAKE2b over the arrays' shapes, dtypes and bytes
    (for a :class:`~cnnlab.data.Subset`, its parent's and its indices), so two
    ranks holding different data, or the same data in another order, disagree.
    """
    digest = hashlib.blake2b(digest_size=8)
    _digest_dataset(dataset, digest)
    return len(dataset), int.from_bytes(digest.digest(), "little") >> 1


def _digest_dataset(dataset, digest):
    from .data import Subset

    if isinstance(dataset, Subset):
        _digest_dataset(dataset.dataset, digest)
        _digest_array(dataset.indices, digest)
        return
    arrays = getattr(dataset, "arrays", None)
    if arrays is None and hasattr(dataset, "data") and hasattr(dataset, "targets"):
        arrays = (dataset.data, dataset.targets)
    if arrays is not None:
        for array in arrays:
            _digest_array(np.asarray(array), digest)
        return
    n = len(dataset)
    for index in np.unique(np.linspace(0, n - 1, num=min(n, 64)).astype(np.int64)) if n else ():
        sample = dataset[int(index)]
        for part in sample if isinstance(sample, tuple) else (sample,):
            _digest_array(np.asarray(part), digest)


def _digest_array(array, digest):
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array).data)


def check_batch(batch_size, ranks, name):
    """Raise :class:`DistributedError` unless ``batch_size`` (the global batch, the argument ``name``) splits
    evenly between ``ranks`` ranks."""
    if batch_size % ranks:
        raise DistributedError(f"{name} must be a multiple of the {ranks} ranks: it is the global batch, split "
                               f"evenly between them; got {batch_size} (try {max(ranks, batch_size // ranks * ranks)})")


def check_same_data(dataset, name, where):
    """Raise :class:`DistributedError` on every rank when some rank's ``dataset`` differs from rank 0's.

    Args:
        dataset: this rank's dataset.
        name: what it is, for the message (``'training set'``).
        where: the function or command refusing it.
    """
    here = np.array(fingerprint(dataset), dtype=np.int64)
    everyone = world().gather_all(here)
    for other, (samples, checksum) in enumerate(everyone):
        if samples != everyone[0, 0] or checksum != everyone[0, 1]:
            raise DistributedError(
                f"{where}: every rank must hold the same data, but rank {other}'s {name} has {samples} samples "
                f"(checksum {checksum:016x}) and rank 0's has {everyone[0, 0]} (checksum {everyone[0, 1]:016x})")


def check_same_file(path, name, where):
    """Raise :class:`DistributedError` on every rank when some rank's file at ``path`` differs from rank 0's.

    For a checkpoint each rank resumes from: on several machines, a folder only one of
    them sees would leave the others reading an older file of the same name.
    """
    with open(path, "rb") as file:
        checksum = int.from_bytes(hashlib.blake2b(file.read(), digest_size=8).digest(), "little") >> 1
    everyone = world().gather_all(np.array([checksum], dtype=np.int64))[:, 0]
    for other, theirs in enumerate(everyone):
        if theirs != everyone[0]:
            raise DistributedError(
                f"{where}: every rank must resume from the same {name}, but rank {other}'s {path} (checksum "
                f"{theirs:016x}) differs from rank 0's ({everyone[0]:016x}); keep it in a folder every machine shares")


def split_evenly(n, parts, part):
    """The ``(start, stop)`` of share ``part`` when ``n`` items are split into ``parts`` contiguous shares.

    Shares differ by at most one item, the longer ones first (as ``numpy.array_split``).
    """
    size, extra = divmod(n, parts)
    start = part * size + min(part, extra)
    return start, start + size + (part < extra)
