"""What every command shares: the one-line error type and the subparser factory."""
import argparse


class CLIError(Exception):
    """An error caused by the command's input: printed as one line, exit status 2."""


def add_command(commands, name, summary, description, example):
    """A subparser with a one-line summary, a description and an example in its epilog."""
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
