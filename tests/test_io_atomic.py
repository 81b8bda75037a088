"""Output claims and the atomic writer: concurrent writers of one name, no replacement without
overwrite, nothing left behind."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.io import OutputBusyError, OutputExistsError, claim_output, write_text
from app.io._atomic import atomic_write


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".lock")))


def _race(target: Path, flags: list[bool], hold: float = 0.02) -> list[object]:
    """Writers k = 0..n-1 start together (a barrier); writer k writes b"writer k" with
    overwrite=flags[k]. Each result: "won" or the refusal's class."""
    barrier = threading.Barrier(len(flags))
    results: list[object] = [None] * len(flags)

    def writer(k: int) -> None:
        def write(fh):
            fh.write(f"writer {k}".encode())
            time.sleep(hold)  # a long write: the others arrive while it holds the claim

        barrier.wait()
        try:
            atomic_write(target, write, overwrite=flags[k])
            results[k] = "won"
        except (OutputBusyError, OutputExistsError) as exc:
            results[k] = type(exc)
            assert target.name in str(exc)  # the refusal names the file
        except BaseException as exc:  # noqa: BLE001 — recorded, the test fails on it
            results[k] = exc

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(len(flags))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=st.lists(st.booleans(), min_size=2, max_size=6), existed=st.booleans(),
       hold=st.sampled_from([0.0, 0.01, 0.03]))
def test_concurrent_writers_of_one_name(tmp_path_factory, flags, existed, hold):
    folder = tmp_path_factory.mktemp("race")
    target = folder / "out.png"
    if existed:
        target.write_bytes(b"old")
    results = _race(target, flags, hold)
    assert all(r == "won" or r in (OutputBusyError, OutputExistsError) for r in results), results
    winners = [k for k, r in enumerate(results) if r == "won"]
    plain_winners = [k for k in winners if not flags[k]]
    if existed:
        assert plain_winners == []  # nothing replaced without overwrite
    else:
        assert len(plain_winners) <= 1
    if not any(flags):
        assert len(winners) == (0 if existed else 1)  # exactly one winner, the others refused
    if winners:
        assert target.read_bytes() in {f"writer {k}".encode() for k in winners}
    else:
        assert target.read_bytes() == b"old" if existed else not target.exists()
    assert _leftovers(folder) == []


def _claimed_process_writer(target: str, k: int, barrier, queue) -> None:
    barrier.wait()
    try:
        with claim_output(target, overwrite=False):
            time.sleep(0.05)  # the compute
            write_text(target, f"writer {k}")
        queue.put((k, "won"))
    except (OutputBusyError, OutputExistsError) as exc:
        queue.put((k, type(exc).__name__))


@pytest.mark.skipif(os.name != "posix", reason="fork start method")
def test_concurrent_processes_one_winner(tmp_path):
    ctx = multiprocessing.get_context("fork")
    n = 4
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    target = tmp_path / "ct_SRx2_bicubic.dcm"
    procs = [ctx.Process(target=_claimed_process_writer, args=(str(target), k, barrier, queue))
             for k in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    results = dict(queue.get(timeout=5) for _ in range(n))
    winners = [k for k, r in results.items() if r == "won"]
    assert len(winners) == 1, results
    assert set(results.values()) <= {"won", "OutputBusyError", "OutputExistsError"}
    assert target.read_text() == f"writer {winners[0]}"
    assert _leftovers(tmp_path) == []


def test_a_claim_refuses_an_existing_file_before_any_compute(tmp_path):
    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="exists"):
        with claim_output(target, overwrite=False):
            raise AssertionError("the claim must be refused before the block runs")
    assert target.read_bytes() == b"old"
    with claim_output(target, overwrite=True):
        write_text(target, "new")
    assert target.read_text() == "new" and _leftovers(tmp_path) == []


def test_a_file_that_appears_during_the_compute_is_not_replaced(tmp_path):
    target = tmp_path / "a.png"
    with pytest.raises(OutputExistsError, match="appeared"):
        with claim_output(target, overwrite=False):
            target.write_bytes(b"someone else's")  # a program that takes no claim
            write_text(target, "mine")
    assert target.read_bytes() == b"someone else's" and _leftovers(tmp_path) == []


def test_a_held_claim_refuses_a_second_writer_even_with_overwrite(tmp_path):
    target = tmp_path / "a.txt"
    errors: list[BaseException] = []
    with claim_output(target, overwrite=True):
        t = threading.Thread(target=lambda: _catch(errors, write_text, target, "other"))
        t.start()
        t.join()
        write_text(target, "mine")
    assert len(errors) == 1 and isinstance(errors[0], OutputBusyError)
    assert "a.txt" in str(errors[0]) and "another writer" in str(errors[0])
    assert target.read_text() == "mine" and _leftovers(tmp_path) == []


def test_a_stale_lock_file_of_a_dead_writer_does_not_block(tmp_path):
    (tmp_path / ".a.txt.lock").write_text("12345")  # left by a killed run: no lock held on it
    write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").read_text() == "x" and _leftovers(tmp_path) == []


def test_an_interrupted_write_leaves_nothing(tmp_path):
    def write(fh):
        fh.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "a.png", write)
    assert list(tmp_path.iterdir()) == []


def _catch(errors: list[BaseException], fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001
        errors.append(exc)


@pytest.mark.parametrize("call", [
    lambda p: write_text(p, b"bytes"),
    lambda p: write_text(123, "x"),
    lambda p: atomic_write(p, "not callable"),
    lambda p: claim_output(p, overwrite="yes").__enter__(),
])
def test_bad_argument_types_are_value_errors(tmp_path, call):
    with pytest.raises(ValueError):
        call(tmp_path / "a.txt")
