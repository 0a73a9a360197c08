"""The command's two kinds of failure, run as a real process: the user's (one line, exit 2) and cnnlab's (exit 1)."""
import os
import subprocess
import sys
import textwrap

import pytest

import cnnlab
from cnnlab.cli import build_parser

HINT = "run with --debug or set CNNLAB_DEBUG=1 for the traceback"

# A bug inside the library, simulated without touching it: `cnnlab models` then fails inside cnnlab.models.names.
# A ValueError on purpose: a bug is a bug whatever its type.
BROKEN = textwrap.dedent("""
    import sys
    import cnnlab.models
    from cnnlab.cli import main

    def names():
        raise {error}("simulated bug")

    cnnlab.models.names = names
    sys.exit(main())
""")


def cnnlab_command(*argv, bug=None, **variables):
    """Run ``python -m cnnlab ARGV`` (or, given ``bug``, the command with that exception raised inside cnnlab)."""
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_DEBUG"}
    env.update(PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **variables)
    start = [sys.executable, "-c", BROKEN.format(error=bug)] if bug else [sys.executable, "-m", "cnnlab"]
    return subprocess.run([*start, *map(str, argv)], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A file that is not a model, a colour model file, and a checkpoint written with Adam."""
    folder = tmp_path_factory.mktemp("files")
    (folder / "notes.safetensors").write_text("not a model")
    cnnlab.save(cnnlab.models.create("simple_cnn"), folder / "colour.safetensors",
                info={"input_shape": [3, 32, 32], "dataset": "cifar10"})
    lenet = cnnlab.models.create("lenet5")
    (folder / "run").mkdir()
    cnnlab.io.save_checkpoint(folder / "run" / "checkpoint.safetensors", lenet,
                              cnnlab.optim.Adam(lenet.parameters()), epoch=0)
    return folder


@pytest.mark.parametrize("argv,line", [
    (["evaluate", "{files}/missing.safetensors"], "cnnlab evaluate: error: model file '{files}/missing.safetensors' "
                                                   "does not exist"),
    (["summary", "{files}/notes.safetensors"], "cnnlab summary: error: {files}/notes.safetensors is not a readable "
                                                "cnnlab/safetensors file ("),
    (["evaluate", "{files}/colour.safetensors", "--dataset", "mnist-sample"],
     "cnnlab evaluate: error: {files}/colour.safetensors takes 3x32x32 inputs but mnist-sample holds 1x28x28 images; "
     "pick the --dataset it was trained on"),
    (["train", "--dataset", "mnsit", "--out", "{files}/new"],
     "cnnlab train: error: --dataset: unknown dataset 'mnsit'; did you mean mnist"),
    (["train", "--resume", "--optimizer", "sgd", "--out", "{files}/run"],
     "cnnlab train: error: --resume: cannot resume from {files}/run/checkpoint.safetensors: load_checkpoint: "
     "{files}/run/checkpoint.safetensors holds Adam state, but the optimizer is SGD"),
    (["lr-find", "--start-lr", "1", "--end-lr", "0.1", "--out", "{files}/lr.png"],
     "cnnlab lr-find: error: find_lr: need 0 < start_lr < end_lr, got start_lr=1.0, end_lr=0.1"),
    (["viz", "kernels", "lenet5", "--layer", "classifier", "-o", "{files}/k.png"],
     "cnnlab viz: error: --layer: layer must name a Conv2d layer of the model"),
])
def test_the_users_errors_are_one_line_and_exit_2(files, argv, line):
    done = cnnlab_command(*[a.format(files=files) for a in argv])
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(line.format(files=files)) and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("error", ["RuntimeError", "ValueError"])
def test_a_bug_is_one_line_that_says_so_and_exits_1(error):
    done = cnnlab_command("models", bug=error)
    assert done.returncode == 1
    assert done.stderr == f"cnnlab models: internal error (a bug in cnnlab): {error}: simulated bug; {HINT}\n"
    assert done.stdout == ""


@pytest.mark.parametrize("argv,variables", [(["--debug", "models"], {}), (["models", "--debug"], {}),
                                            (["models"], {"CNNLAB_DEBUG": "1"})])
def test_debug_shows_the_traceback(argv, variables):
    done = cnnlab_command(*argv, bug="RuntimeError", **variables)
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "in names" in done.stderr and done.stderr.endswith("RuntimeError: simulated bug\n")
    assert "internal error" not in done.stderr


def test_debug_leaves_the_users_errors_one_line(files):
    done = cnnlab_command("--debug", "evaluate", files / "missing.safetensors", CNNLAB_DEBUG="1")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_cnnlab_debug_0_is_off():
    done = cnnlab_command("models", bug="RuntimeError", CNNLAB_DEBUG="0")
    assert done.returncode == 1 and done.stderr.endswith(f"{HINT}\n") and "Traceback" not in done.stderr


def test_an_interrupt_is_still_exit_130():
    done = cnnlab_command("models", bug="KeyboardInterrupt")
    assert done.returncode == 130 and done.stderr == "cnnlab: interrupted\n"


@pytest.mark.parametrize("argv,debug", [
    (["viz", "kernels", "lenet5", "-o", "k.png"], False),
    (["--debug", "viz", "kernels", "lenet5", "-o", "k.png"], True),
    (["viz", "--debug", "kernels", "lenet5", "-o", "k.png"], True),
    (["viz", "kernels", "lenet5", "-o", "k.png", "--debug"], True),
    (["shape", "--debug", "-n", "28", "-k", "5"], True),
])
def test_debug_is_accepted_before_or_after_the_command_name(argv, debug):
    assert getattr(build_parser().parse_args(argv), "debug", False) is debug


def test_backend_option_runs_the_command_under_that_backend():
    result = cnnlab_command("summary", "lenet5", "--backend", "numpy")
    assert result.returncode == 0, result.stderr
    assert "backend 'numpy'" in result.stdout and "im2col" in result.stdout
    if cnnlab.available_backends().get("numba") is None:
        result = cnnlab_command("--backend", "numba", "summary", "lenet5")
        assert result.returncode == 0, result.stderr
        assert "backend 'numba'" in result.stdout and "blocked_gemm" in result.stdout


def test_an_unknown_or_unavailable_backend_is_one_line_and_exit_2(monkeypatch):
    result = cnnlab_command("summary", "lenet5", "--backend", "cuda")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "argument --backend: invalid choice: 'cuda'" in result.stderr
    monkeypatch.setattr(cnnlab.backend, "_REGISTRY", {**cnnlab.backend._REGISTRY, "bogus": "no_such_module:B"})
    assert cnnlab.cli.main(["summary", "lenet5", "--backend", "bogus"]) == 2


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """``cnnlab summary ... | head -1``: the broken pipe is not reported as a bug."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "cnnlab", "summary", "lenet5", "--backend", "numpy"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the command writes anything
    assert process.wait(timeout=120) == 141
    assert process.stderr.read() == b""


def test_a_missing_dataset_says_how_to_fetch_it_on_the_command_line(tmp_path):
    result = cnnlab_command("train", "--dataset", "mnist", "--data-dir", tmp_path, "--epochs", "1")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--dataset: MNIST: missing train-images-idx3-ubyte.gz" in result.stderr
    assert "or add --download to fetch them" in result.stderr and "download=True" not in result.stderr
