"""models.inference.memory: malloc set up once per process to reuse freed blocks (glibc)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

_PROBE = """
import ctypes, resource
from models.inference.memory import reuse_freed_memory, release_freed_memory
on = reuse_freed_memory()
assert reuse_freed_memory() == on  # idempotent: the first call decides
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def block():  # what a feature map of a large image is: 64 MB, written, freed
    p = libc.malloc(1 << 26)
    ctypes.memset(p, 1, 1 << 26)
    libc.free(p)
block()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):  # the same size again: reused, or mapped and faulted in anew each time
    block()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
release_freed_memory()
print(on, faults)
"""


def _probe(env_value: str | None) -> tuple[bool, int]:
    env = dict(os.environ)
    env.pop("RMISR_REUSE_MEMORY", None)
    if env_value is not None:
        env["RMISR_REUSE_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not _GLIBC, reason="glibc's malloc only")
def test_freed_blocks_are_reused_without_page_faults():
    on, faults = _probe(None)
    assert on
    off_state, off_faults = _probe("0")
    assert not off_state
    # 5 × 64 MB touched anew is ≈ 80 000 faults of 4 KB pages (160 of 2 MB ones where
    # transparent huge pages are always on); reused blocks fault (almost) none
    assert off_faults >= 100 and faults < off_faults // 20


def test_elsewhere_it_does_nothing(monkeypatch):
    import models.inference.memory as memory
    monkeypatch.setattr(memory, "_libc", None)
    monkeypatch.setattr(memory, "_applied", False)
    monkeypatch.setattr(memory.platform, "system", lambda: "Windows")
    assert memory.reuse_freed_memory() is False
    memory.release_freed_memory()  # no-op, no error
