"""models.inference.memory: freed large blocks reused during a run (glibc's malloc)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

_PROBE = """
import ctypes, resource, sys, time
from models.inference import memory
memory.RELEASE_AFTER_S = 0.3
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def block():  # what a feature map of a large image is: 64 MB, written, freed
    p = libc.malloc(1 << 26)
    ctypes.memset(p, 1, 1 << 26)
    libc.free(p)
def faults(n=5):  # the same size again and again: reused, or mapped and faulted in anew
    block()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        block()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
on = memory.one_arena()
before = faults()
with memory.freed_memory_reused():
    with memory.freed_memory_reused():  # runs in two threads at once: the outer one restores
        pass
    during = faults()
kept = faults()  # between runs, for RELEASE_AFTER_S: still reused
time.sleep(1.0)
after = faults()  # given back: glibc's defaults again, mapped anew
with memory.freed_memory_reused():  # a second run (or rmisr-train's whole loop)
    later = faults()
with memory.freed_memory_reused(keep_after=0):
    pass
at_once = faults()  # no delay: given back as the run ends
print(on, before, during, kept, after, later, at_once)
"""


def _probe(env_value: str | None) -> list[str]:
    env = dict(os.environ)
    env.pop("RMISR_REUSE_MEMORY", None)
    if env_value is not None:
        env["RMISR_REUSE_MEMORY"] = env_value
    return subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          env=env, check=True).stdout.split()


@pytest.mark.skipif(not _GLIBC, reason="glibc's malloc only")
def test_freed_blocks_are_reused_during_a_run_and_given_back_after():
    on, *counts = _probe(None)
    assert on == "True"
    before, during, kept, after, later, at_once = (int(v) for v in counts)
    # 5 × 64 MB mapped anew is ≈ 80 000 faults of 4 KB pages (160 of 2 MB ones where transparent
    # huge pages are always on); reused blocks fault (almost) none
    assert before >= 100 and after >= 100 and at_once >= 100
    assert during < before // 20 and kept < before // 20 and later < before // 20


@pytest.mark.skipif(not _GLIBC, reason="glibc's malloc only")
def test_the_environment_turns_it_off():
    on, _, during, kept, *_ = _probe("0")
    assert on == "False" and int(during) >= 100 and int(kept) >= 100


def test_elsewhere_it_does_nothing(monkeypatch):
    import models.inference.memory as memory
    monkeypatch.setattr(memory, "_libc", None)
    monkeypatch.setattr(memory, "_looked", False)
    monkeypatch.setattr(memory.platform, "system", lambda: "Windows")
    assert memory.one_arena() is False
    with memory.freed_memory_reused() as reusing:
        assert reusing is False  # what the resolver reads to keep ICCA's row bands


@pytest.mark.parametrize("reused", [True, False])
def test_the_resolver_runs_icca_in_row_bands_only_where_freed_memory_is_not_reused(
        monkeypatch, tmp_path, reused):
    """ICCA's row bands pay where large freed blocks are unmapped (each pass faults its memory
    anew); where they are reused the whole image is faster. Same pixels either way."""
    import types

    import numpy as np

    from models.archs import icca as icca_module
    from models.inference import memory
    from models.inference import SuperResolver

    from ._engine import make_weights_dir
    glibc = types.SimpleNamespace(mallopt=lambda option, value: 1, malloc_trim=lambda pad: 1)
    monkeypatch.setattr(memory, "_glibc", lambda: glibc if reused else None)
    monkeypatch.setattr(icca_module, "_BAND_BYTES", 1)  # bands of 8 rows: a 40-row image has 5
    calls = []
    banded = icca_module.ICCA._forward_in_bands
    monkeypatch.setattr(icca_module.ICCA, "_forward_in_bands",
                        lambda self, x, rows: calls.append(rows) or banded(self, x, rows))
    sr = SuperResolver("cpu", make_weights_dir(tmp_path), precision="fp32")
    img = np.random.default_rng(0).random((40, 36)).astype(np.float32)
    out = sr.upscale(img, 3.0, "rmisr-bl")
    assert bool(calls) is not reused
    monkeypatch.setattr(memory, "_glibc", lambda: None if reused else glibc)  # the other way
    other = sr.upscale(img, 3.0, "rmisr-bl")
    assert calls  # one of the two runs went through the bands
    assert np.allclose(out, other, atol=1e-5)


@pytest.mark.parametrize("reused", [True, False])
def test_forward_memory_sets_icca_mode_from_the_reuse_on_a_cpu_only(monkeypatch, reused):
    import types

    import torch

    from models.archs import icca as icca_module
    from models.inference import memory
    from models.inference.forward import forward_memory
    glibc = types.SimpleNamespace(mallopt=lambda option, value: 1, malloc_trim=lambda pad: 1)
    monkeypatch.setattr(memory, "_glibc", lambda: glibc if reused else None)
    with forward_memory(torch.device("cpu")):
        assert icca_module._ROW_BANDS.get() is not reused
    with forward_memory(torch.device("meta")):  # not a CPU: nothing changes
        assert icca_module._ROW_BANDS.get() is True


def test_rmisr_train_holds_the_forward_memory_regime_around_training_and_validation(
        monkeypatch, tmp_path):
    """Validation calls the network directly (not through the resolver), so the regime has to be
    held by rmisr-train itself for ICCA to drop its row bands there too."""
    import contextlib

    from models.training import loop, train

    from ._engine import write_tiny_image_folders
    from .test_train import _args
    entered, validated_inside = [], []

    @contextlib.contextmanager
    def recording(device):
        entered.append(device.type)
        yield
        entered.append("exit")

    real_validate = loop.validate
    monkeypatch.setattr(train, "forward_memory", recording)
    monkeypatch.setattr(loop, "validate", lambda *a, **k: validated_inside.append(
        entered == ["cpu"]) or real_validate(*a, **k))
    data = write_tiny_image_folders(tmp_path / "data", size=40)
    assert train.main(_args(data, tmp_path / "run", tmp_path / "w", 2)) == 0
    assert entered == ["cpu", "exit"] and validated_inside and all(validated_inside)


@pytest.mark.skipif(not _GLIBC, reason="glibc's malloc only")
def test_a_block_left_open_does_not_hold_up_the_exit():
    """A run the process never finished (a viewer closed mid-run) ends in the interpreter's
    finalisation, where the release timer's thread could never start: the exit hung."""
    code = ("from models.inference import memory\n"
            "held = memory.freed_memory_reused()\n"
            "held.__enter__()\n"
            "print('open')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "open"
