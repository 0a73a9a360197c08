"""The ``cnnlab`` command: an argparse front door; each subcommand is a small function.

Errors a user can cause (bad arguments, unreadable files, wrong shapes) print
one line on stderr and exit with status 2, never a traceback.

Adding a command: in the module of its group, write ``add_<name>_command(commands)``,
which creates the subparser with :func:`common.add_command` and sets
``run=<function of args>``, and call it from :func:`build_parser`. Heavy imports
go inside the run function, so ``cnnlab --help`` stays fast.
"""
import argparse
import sys

from .. import __version__
from .common import CLIError, add_command  # noqa: F401 - part of the package's interface
from .convolution import add_convolve_command, add_shape_command
from .filter import add_filter_command
from .inspect import add_explain_command, add_viz_command
from .training import add_evaluate_command, add_lr_find_command, add_predict_command, add_train_command
from .zoo import add_datasets_command, add_models_command, add_summary_command


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2."""

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
                add_viz_command, add_explain_command):
        add(commands)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version and usage errors: already printed
        return exit.code
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    except (CLIError, ValueError, TypeError, OSError) as error:
        print(f"cnnlab {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
