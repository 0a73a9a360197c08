"""The ``cnnlab`` command: an argparse front door; each subcommand is a small function.

Errors a user can cause (bad arguments, unreadable files, wrong shapes) print
one line on stderr and exit with status 2, never a traceback: commands raise
:class:`CLIError` for them, or wrap the calls where the user's values and files
enter the library in :func:`common.user_input`. Any other exception is a bug in
cnnlab: one line saying so, exit status 1, and the traceback with ``--debug``
(before or after the command name) or ``CNNLAB_DEBUG=1``.

Under an MPI launcher (``mpiexec -n N cnnlab train ...``) every rank runs the
command; only rank 0 prints. An error every rank reaches together
(:class:`~cnnlab.distributed.DistributedError`, a usage error) is printed once
and every rank exits with its status; any other error on one rank is one line
naming the rank, and MPI Abort ends the whole job with its status.

Adding a command: in the module of its group, write ``add_<name>_command(commands)``,
which creates the subparser with :func:`common.add_command` and sets
``run=<function of args>``, and call it from :func:`build_parser`. Heavy imports
go inside the run function, so ``cnnlab --help`` stays fast.
"""
import argparse
import contextlib
import os
import sys

from .. import __version__, distributed
from ..backend import available_backends, using_backend
from ..backend import names as backend_names
from ..runtime import process_tuning
from .common import CLIError, add_command, user_input  # noqa: F401 - part of the package's interface
from .convolution import add_convolve_command, add_shape_command
from .evaluation import add_evaluate_command, add_predict_command
from .export import add_export_command
from .filter import add_filter_command
from .inspect import add_explain_command, add_viz_command
from .training import add_lr_find_command, add_train_command
from .zoo import add_datasets_command, add_models_command, add_summary_command


#: The commands that run as several ranks under mpiexec; the others refuse to.
DATA_PARALLEL = ("train",)
#: The status of ranks other than 0 for a usage error every rank finds before MPI starts: mpiexec ends the
#: job at the first non-zero status, which could cut rank 0 off before it prints; rank 0's 2 is the job's.
_OTHER_RANKS_STATUS = 0


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2; it takes ``--debug`` and ``--backend``.

    argparse makes every subparser of its parent's class, so each command accepts
    both too; left out, they set nothing, and the parent's value stands.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="on an internal error, print the traceback (as CNNLAB_DEBUG=1 does)")
        self.add_argument("--backend", choices=backend_names(), default=argparse.SUPPRESS,
                          help="the engine's kernel backend (default: numba where installed, else numpy)")

    def error(self, message):
        if distributed.launch_rank() != 0:  # every rank of a job has the same arguments: rank 0 says it (below)
            self.exit(_OTHER_RANKS_STATUS)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    parser = _Parser(
        prog="cnnlab",
        description="Convolutional neural networks on NumPy: train, inspect and explain them.",
        epilog="Run 'cnnlab COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (add_train_command, add_evaluate_command, add_predict_command, add_summary_command,
                add_models_command, add_datasets_command, add_lr_find_command,
                add_filter_command, add_shape_command, add_convolve_command,
                add_viz_command, add_explain_command, add_export_command):
        add(commands)
    return parser


def main(argv=None):
    """Run the command in ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version and usage errors: already printed
        return exit.code
    if args.command is None:
        parser.print_help()
        return 0
    if distributed.launched() and args.command not in DATA_PARALLEL:
        if distributed.launch_rank() != 0:  # the same on every rank, before MPI starts: rank 0 says it
            return _OTHER_RANKS_STATUS
        print(f"cnnlab {args.command}: error: runs in one process, and this is one of {distributed.launch_size()} "
              f"started by mpiexec; only {', '.join(DATA_PARALLEL)} runs data-parallel", file=sys.stderr)
        return 2
    world = None
    try:
        world = _world()
        with process_tuning(), _backend(getattr(args, "backend", None)), _quiet_unless_main(world):
            return args.run(args) or 0
    except distributed.DistributedError as error:  # every rank refuses at the same point: rank 0 says it
        if distributed.launch_rank() != 0:
            # after MPI started, finalizing waits for rank 0, so the status can be the same everywhere
            return _OTHER_RANKS_STATUS if world is None else 2
        print(f"cnnlab {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except CLIError as error:
        return _fail(world, f"cnnlab {args.command}: error: {_one_line(error)}", 2)
    except KeyboardInterrupt:
        return _fail(world, "cnnlab: interrupted", 130)
    except BrokenPipeError:  # the reader went away (`cnnlab evaluate ... | head`): stop quietly, as `cat` does
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by it
    except Exception as error:
        if getattr(args, "debug", False) or os.environ.get("CNNLAB_DEBUG", "").strip() not in ("", "0"):
            if world is not None and world.size > 1:
                import traceback

                traceback.print_exc()
                world.abort(_describe(error), 1)
            raise
        return _fail(world, f"cnnlab {args.command}: internal error (a bug in cnnlab): {_describe(error)}; "
                            f"run with --debug or set CNNLAB_DEBUG=1 for the traceback", 1)


def _world():
    """The MPI job this command is a rank of, or None when no launcher started several processes."""
    if not distributed.launched():
        return None
    try:
        return distributed.world()
    except ImportError as error:  # the same on every rank, before MPI starts
        raise distributed.DistributedError(str(error)) from None


def _fail(world, message, status):
    """Print ``message`` and return ``status``; one rank of several instead ends the whole job (MPI Abort).

    The other ranks may be waiting for this one in a collective operation, so ending
    only this process would leave them waiting forever.
    """
    if world is None or world.size == 1:
        print(message, file=sys.stderr)
        return status
    world.abort(message, status)


@contextlib.contextmanager
def _quiet_unless_main(world):
    """On every rank but rank 0 of a job, send what the command prints to /dev/null."""
    if world is None or world.rank == 0:
        yield
        return
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(devnull):
        yield


def _silence_stdout():
    """Point stdout at /dev/null, so the interpreter's final flush does not fail on the broken pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _backend(name):
    """The ``--backend`` the user asked for, for the command's length; one that cannot load here is a user error."""
    if name is None:
        return contextlib.nullcontext()
    reason = available_backends()[name]
    if reason is not None:
        raise CLIError(f"--backend: backend {name!r} is not available here ({reason})")
    return using_backend(name)


def _describe(error):
    text = _one_line(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _one_line(error):
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())
