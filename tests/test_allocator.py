"""cnnlab.allocator: when cnnlab changes glibc's malloc settings, and that it leaves a user's choice alone."""

import ctypes.util
import os
import subprocess
import sys

import pytest

from cnnlab import allocator


@pytest.mark.parametrize("environ,platform,expected", [
    ({}, "linux", True),
    ({"CNNLAB_MALLOC_TUNING": "0"}, "linux", False),
    ({"CNNLAB_MALLOC_TUNING": "1"}, "linux", True),
    ({"MALLOC_TRIM_THRESHOLD_": "0"}, "linux", False),   # the user's own setting wins
    ({"MALLOC_MMAP_THRESHOLD_": "131072"}, "linux", False),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_tuning_is_wanted_only_on_linux_and_when_the_user_chose_nothing(environ, platform, expected):
    assert allocator.wanted(environ, platform) is expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize("variable,tuned", [(None, "True"), ("CNNLAB_MALLOC_TUNING=0", "False"),
                                            ("MALLOC_TOP_PAD_=0", "False")])
def test_import_applies_the_settings_unless_turned_off(variable, tuned):
    if tuned == "True" and "libc" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("no glibc here")
    env = {k: v for k, v in os.environ.items() if k not in allocator.GLIBC_VARIABLES and k != "CNNLAB_MALLOC_TUNING"}
    if variable:
        name, value = variable.split("=")
        env[name] = value
    out = subprocess.run([sys.executable, "-c", "import cnnlab; print(cnnlab.allocator.TUNED)"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == tuned
