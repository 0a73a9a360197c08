"""cnnlab.runtime: importing cnnlab leaves the process alone; process_tuning() changes it, and back."""
import ctypes.util
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import cnnlab
from cnnlab import runtime

# Where a fresh 1 MiB malloc comes from, measured with glibc's mallinfo2 (the blocks are never freed:
# freeing a mapped block would raise glibc's dynamic mmap threshold and change the next answer).
MALLOC_PROBE = textwrap.dedent("""
    import ctypes, json, sys

    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        print(json.dumps("no mallinfo2"))
        sys.exit()

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                         "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc.mallinfo2.restype = Mallinfo2
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)

    def source():
        before = libc.mallinfo2()
        libc.malloc(1 << 20)
        after = libc.mallinfo2()
        mapped, heap = after.hblkhd - before.hblkhd, after.uordblks - before.uordblks
        return "mmap" if mapped >= 1 << 20 and heap < 1 << 20 else "heap" if heap >= 1 << 20 and mapped == 0 else "?"

    seen = {}
    import cnnlab
    seen["after import"] = source()
    with cnnlab.process_tuning():
        seen["inside"] = source()
        with cnnlab.process_tuning():
            pass
        seen["after a nested exit"] = source()
    seen["after exit"] = source()
    try:
        with cnnlab.process_tuning():
            raise RuntimeError
    except RuntimeError:
        seen["after an error"] = source()
    print(json.dumps(seen))
""")

OPENBLAS_PROBE = textwrap.dedent("""
    import ctypes, glob, json, os
    import numpy

    def openblas_get_num_threads():
        folder = os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs")
        for path in glob.glob(os.path.join(folder, "*openblas*")):
            library = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                         "openblas_get_num_threads64_", "openblas_get_num_threads"):
                if hasattr(library, name):
                    return getattr(library, name)
        return None

    get = openblas_get_num_threads()
    if get is None:
        print(json.dumps(None))
    else:
        before = get()
        import cnnlab
        print(json.dumps([before, get()]))
""")


def run_probe(probe, **variables):
    """Run ``probe`` in a fresh interpreter with none of the opt-out variables but ``variables``; its JSON output."""
    env = {k: v for k, v in os.environ.items() if k not in runtime.GLIBC_VARIABLES and k != "CNNLAB_MALLOC_TUNING"}
    env.update(variables)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux") or "libc.so" not in (ctypes.util.find_library("c")
                                                                                            or ""),
                                reason="glibc's malloc")


@glibc_only
def test_import_leaves_malloc_alone_and_the_scope_changes_it_and_back():
    seen = run_probe(MALLOC_PROBE)
    if seen == "no mallinfo2":
        pytest.skip("glibc older than 2.33 has no mallinfo2")
    assert seen == {"after import": "mmap", "inside": "heap", "after a nested exit": "heap", "after exit": "mmap",
                    "after an error": "mmap"}


@glibc_only
@pytest.mark.parametrize("variable,value", [("CNNLAB_MALLOC_TUNING", "0"), ("MALLOC_TOP_PAD_", "131072")])
def test_the_opt_out_variables_keep_malloc_untouched_inside_the_scope(variable, value):
    seen = run_probe(MALLOC_PROBE, **{variable: value})
    if seen == "no mallinfo2":
        pytest.skip("glibc older than 2.33 has no mallinfo2")
    assert set(seen.values()) == {"mmap"}, seen


def test_import_leaves_the_blas_thread_count_alone():
    threads = run_probe(OPENBLAS_PROBE)
    if threads is None:
        pytest.skip("NumPy has no bundled OpenBLAS here")
    before, after = threads
    assert after == before


@pytest.mark.parametrize("environ,platform,expected", [
    ({}, "linux", True),
    ({"CNNLAB_MALLOC_TUNING": "0"}, "linux", False),
    ({"CNNLAB_MALLOC_TUNING": "1"}, "linux", True),
    ({"MALLOC_TRIM_THRESHOLD_": "0"}, "linux", False),   # the user's own setting wins
    ({"MALLOC_MMAP_THRESHOLD_": "131072"}, "linux", False),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_malloc_is_tuned_only_on_linux_and_when_the_user_chose_nothing(environ, platform, expected):
    assert runtime.wanted(environ, platform) is expected


class FakeLibc:
    def __init__(self, calls):
        self.calls = calls

    def malloc_trim(self, pad):
        self.calls.append(f"malloc_trim({pad})")


@pytest.fixture
def mallopt_calls(monkeypatch):
    """The settings passed to mallopt and the calls of malloc_trim, recorded instead of made."""
    calls = []
    for name in (*runtime.GLIBC_VARIABLES, "CNNLAB_MALLOC_TUNING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime.sys, "platform", "linux")
    monkeypatch.setattr(runtime, "_glibc", lambda: FakeLibc(calls))
    monkeypatch.setattr(runtime, "_set", calls.append)
    return calls


def test_nested_scopes_apply_once_and_restore_at_the_outermost_exit(mallopt_calls):
    assert not runtime.tuning_active()
    with cnnlab.process_tuning():
        with cnnlab.process_tuning():
            assert runtime.tuning_active() and mallopt_calls == [runtime.SETTINGS]
        assert runtime.tuning_active() and mallopt_calls == [runtime.SETTINGS]
    assert not runtime.tuning_active()
    assert mallopt_calls == [runtime.SETTINGS, runtime.GLIBC_DEFAULTS, "malloc_trim(0)"]


def test_an_error_inside_restores_the_defaults(mallopt_calls):
    with pytest.raises(RuntimeError, match="boom"):
        with cnnlab.process_tuning():
            raise RuntimeError("boom")
    assert not runtime.tuning_active()
    assert mallopt_calls == [runtime.SETTINGS, runtime.GLIBC_DEFAULTS, "malloc_trim(0)"]


def test_opting_out_keeps_the_scope_but_not_the_malloc_settings(mallopt_calls, monkeypatch):
    monkeypatch.setenv("CNNLAB_MALLOC_TUNING", "0")
    with cnnlab.process_tuning():
        assert runtime.tuning_active()  # the BLAS pinning still applies
    assert mallopt_calls == []


def test_other_threads_change_nothing(mallopt_calls):
    seen = []

    def enter():
        with cnnlab.process_tuning():
            seen.append(runtime.tuning_active())

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert seen == [False] and mallopt_calls == []
    with cnnlab.process_tuning():  # the main thread's scope is the process's: other threads see it
        thread = threading.Thread(target=enter)
        thread.start()
        thread.join()
    assert seen == [False, True]
    assert mallopt_calls == [runtime.SETTINGS, runtime.GLIBC_DEFAULTS, "malloc_trim(0)"]
