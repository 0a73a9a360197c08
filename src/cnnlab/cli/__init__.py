"""The ``cnnlab`` command: an argparse front door; each subcommand is a small function.

Errors a user can cause (bad arguments, unreadable files, wrong shapes) print
one line on stderr and exit with status 2, never a traceback: commands raise
:class:`CLIError` for them, or wrap the calls where the user's values and files
enter the library in :func:`common.user_input`. Any other exception is a bug in
cnnlab: one line saying so, exit status 1, and the traceback with ``--debug``
(before or after the command name) or ``CNNLAB_DEBUG=1``.

Adding a command: in the module of its group, write ``add_<name>_command(commands)``,
which creates the subparser with :func:`common.add_command` and sets
``run=<function of args>``, and call it from :func:`build_parser`. Heavy imports
go inside the run function, so ``cnnlab --help`` stays fast.
"""
import argparse
import contextlib
import os
import sys

from .. import __version__
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
    try:
        with process_tuning(), _backend(getattr(args, "backend", None)):
            return args.run(args) or 0
    except CLIError as error:
        print(f"cnnlab {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`cnnlab evaluate ... | head`): stop quietly, as `cat` does
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by it
    except Exception as error:
        if getattr(args, "debug", False) or os.environ.get("CNNLAB_DEBUG", "").strip() not in ("", "0"):
            raise
        print(f"cnnlab {args.command}: internal error (a bug in cnnlab): {_describe(error)}; "
              f"run with --debug or set CNNLAB_DEBUG=1 for the traceback", file=sys.stderr)
        return 1


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
