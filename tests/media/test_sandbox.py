"""The bounded child: limits hold, results and refusals cross back, each call its own process."""

from __future__ import annotations

import os
import time

import pytest

from media import sandbox
from media.images import MediaRejected
from media.sandbox import LimitExceeded, Limits
from tests.media import workloads

EASY = Limits(cpu_seconds=5, memory_mb=1024, wall_seconds=30)


def test_result_comes_back():
    assert sandbox.run(pow, 2, 10, limits=EASY) == 1024


def test_a_refusal_crosses_with_its_rule():
    with pytest.raises(MediaRejected) as caught:
        sandbox.run(workloads.refuse, "max_scans", limits=EASY)
    assert caught.value.rule == "max_scans" and "max_scans" in caught.value.detail


def test_a_child_is_kept_for_the_next_call_until_it_breaks_a_limit(monkeypatch):
    # A fresh pool: a child left by earlier tests may be at its last call (CALLS_PER_CHILD).
    monkeypatch.setattr(sandbox, "_POOL", None)
    first = sandbox.run(workloads.pid, limits=EASY)
    assert first != os.getpid()
    assert sandbox.run(workloads.pid, limits=EASY) == first  # warm: no new process
    with pytest.raises(LimitExceeded):
        sandbox.run(workloads.allocate, 2048, limits=Limits(5, 512, 30))
    assert sandbox.run(workloads.pid, limits=EASY) not in (first, os.getpid())


def test_each_call_gets_its_own_cpu_seconds():
    # Three calls of ~0.6 s CPU in one child, each limited to 1 s: none is charged for the
    # ones before it.
    for _ in range(3):
        sandbox.run(workloads.burn, 0.6, limits=Limits(1, 1024, 30))


def test_a_child_is_let_go_after_its_calls(monkeypatch):
    monkeypatch.setattr(sandbox, "CALLS_PER_CHILD", 2)
    monkeypatch.setattr(sandbox, "_POOL", None)  # children made from now on serve 2 calls
    pids = [sandbox.run(workloads.pid, limits=EASY) for _ in range(4)]
    assert pids[0] == pids[1] != pids[2] == pids[3]
    monkeypatch.setattr(sandbox, "_POOL", None)


def test_cpu_limit_stops_a_spinning_child():
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as caught:
        sandbox.run(workloads.spin, limits=Limits(1, 1024, 30))
    assert caught.value.limit == "cpu"
    assert time.monotonic() - started < 10


def test_memory_limit_stops_a_greedy_child():
    with pytest.raises(LimitExceeded) as caught:
        sandbox.run(workloads.allocate, 2048, limits=Limits(5, 512, 30))
    assert caught.value.limit == "memory"
    assert sandbox.run(workloads.allocate, 64, limits=Limits(5, 512, 30)) == 64 << 20


def test_wall_limit_stops_a_sleeping_child():
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as caught:
        sandbox.run(workloads.sleep, 60, limits=Limits(5, 1024, 0.5))
    assert caught.value.limit == "wall"
    assert time.monotonic() - started < 5


def test_a_crash_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="died"):
        sandbox.run(workloads.crash, limits=EASY)
    assert sandbox.run(pow, 3, 2, limits=EASY) == 9  # and the pool goes on


def test_within_cuts_only_the_wall_clock():
    assert Limits(10, 1024, 22).within(3) == Limits(10, 1024, 3)
    assert Limits(10, 1024, 22).within(100) == Limits(10, 1024, 22)
    assert Limits.for_decode(10, 512) == Limits(10, 512, 22)
