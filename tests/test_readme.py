"""The README tells the truth: what its console blocks show a command printing, the command prints.

Every ``$ cnnlab ...`` line of a ``console`` block that shows output is run, top
to bottom in one folder as a reader would run them (``cnnlab train`` first, then
``evaluate`` and ``predict`` on the model it wrote), and the lines shown must be
the first lines the command prints. Every ``cnnlab`` command in the README, shown
output or not, must be one the command line accepts.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def console_commands(text):
    """``[(command line, [shown output lines])]`` of every ``console`` block, in order."""
    commands = []
    for block in re.findall(r"^```console\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            else:
                commands[-1][1].append(line)
    return [(command, _without_trailing_blanks(shown)) for command, shown in commands]


def _without_trailing_blanks(lines):
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def every_command(text):
    """Every ``cnnlab`` command line of the README's console and bash blocks, as argv lists (``mpiexec``'s too)."""
    lines = [command for command, _ in console_commands(text)]
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        lines += [line for line in block.splitlines() if line.startswith("cnnlab ")]
        lines += [line[line.index("cnnlab "):] for line in block.splitlines() if line.startswith("mpiexec ")]
    return [shlex.split(line, comments=True) for line in lines]


SHOWN = [(i, command, shown) for i, (command, shown) in enumerate(console_commands(README)) if shown]


def test_the_readme_shows_the_walkthrough_and_the_arithmetic():
    shown = {shlex.split(command, comments=True)[1] for _, command, _ in SHOWN}
    assert {"train", "evaluate", "predict", "shape", "convolve"} <= shown
    assert README.startswith("# cnnlab\n\n```bash\npip install -e '.[all]' && cnnlab train\n"
                             "pip install -e '.[test]' && python -m pytest\n```\n")


@pytest.mark.parametrize("argv", every_command(README), ids=" ".join)
def test_every_command_in_the_readme_is_accepted(argv):
    assert argv[0] == "cnnlab"
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit as exit:
        pytest.fail(f"cnnlab refuses the README's {' '.join(argv)!r} (exit status {exit.code})")
    assert args.command == argv[1]


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A folder to run the README's commands in, holding its docs/ (the pictures it names); and their results."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "docs", folder / "docs")
    return folder, {}


def run_up_to(reader, index):
    """Run the console commands with shown output up to ``index``, in order, each once; the result of ``index``."""
    folder, done = reader
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    for i, command, _ in SHOWN:
        if i > index:
            break
        if i not in done:
            argv = shlex.split(command, comments=True)
            done[i] = subprocess.run([sys.executable, "-m", "cnnlab", *argv[1:]], cwd=folder, env=env,
                                     capture_output=True, text=True, timeout=900)
    return done[index]


@pytest.mark.parametrize("index,command,shown", SHOWN, ids=[command for _, command, _ in SHOWN])
def test_the_output_shown_is_what_the_command_prints(reader, index, command, shown):
    done = run_up_to(reader, index)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:len(shown)] == shown
