"""What every command shares: the one-line error type, the translation into it, and the subparser factory."""
import argparse
import contextlib
import os


class CLIError(ValueError):
    """An error caused by the command's input: printed as one line, exit status 2.

    A ValueError, since a value the user gave was refused: code that calls a
    command's ``run`` and catches ValueError keeps working.
    """


def check_model_source(source):
    """Refuse a MODEL argument that is neither a file nor a zoo model name, in one line."""
    from .. import models

    if not os.path.isfile(source) and source not in models.names():
        raise CLIError(f"model file {source!r} does not exist, nor is it a zoo model name (see 'cnnlab models')")


@contextlib.contextmanager
def user_input(option=None):
    """Turn the library's ValueError, TypeError or OSError raised inside into a :class:`CLIError`.

    Wrap only the calls where the user's values or files enter the library
    (reading a model file, a dataset, an image, an option the library checks):
    any other exception is a bug in cnnlab, and ``main`` reports it as one.
    ``option`` (``'--dataset'``, say) prefixes the message.

    >>> with user_input("--dataset"):
    ...     data = load_dataset(args.dataset)
    """
    try:
        yield
    except CLIError:
        raise
    except (ValueError, TypeError, OSError) as error:
        message = _message(error)
        raise CLIError(f"{option}: {message}" if option else message) from error


def _message(error):
    """``error``'s text; an OSError's without the ``[Errno N]`` prefix."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename!r}" if error.filename else error.strerror
    return str(error)


def add_command(commands, name, summary, description, example):
    """A subparser with a one-line summary, a description and an example in its epilog."""
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
