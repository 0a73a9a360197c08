"""``python -m cnnlab``: the same as the ``cnnlab`` command."""
import sys

from .cli import main

sys.exit(main())
