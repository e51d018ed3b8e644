"""Bounded work: run a decode in a child process with CPU, memory and wall-clock limits.

A crafted file can make a decoder spin (a progressive JPEG of 30,000 scans) or allocate without
end, and nothing inside the decoder stops it; only the kernel can. Each call therefore runs in
a child process: `RLIMIT_CPU` kills it (SIGXCPU) past the call's CPU seconds, `RLIMIT_AS` makes
its allocations fail past the call's memory, and the parent kills it when the wall clock runs
out.

Children come from a forkserver that has Pillow loaded, and each serves up to `CALLS_PER_CHILD`
calls, its limits set afresh before each (the CPU limit counted from what it has used so far).
A fresh process is slow at first (a 12 MP decode took ~50 ms longer in a new child than in a
used one, faulting in its heap), so a child is kept for the next call unless it hit a limit,
failed, or grew past `RETIRE_RSS_MB`; then it exits and a new one is started. The forkserver
belongs to the process (one per process in `multiprocessing`), so the pool is process-wide
too, made on first use.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
# Imported once by the forkserver, so a child starts with Pillow (and our decoders) loaded.
PRELOAD = ["media.sandbox", "media.sandbox_preload"]
SPARES = 2  # idle children kept: the media worker runs 2 threads by default
CALLS_PER_CHILD = 50
RETIRE_RSS_MB = 300  # a child that peaked above this keeps that heap: let it go


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float  # CPU time of the child (all its threads), rounded up to whole seconds
    memory_mb: int  # address space of the child
    wall_seconds: float  # from the call to its answer, whatever the child was doing

    @classmethod
    def for_decode(cls, cpu_seconds: float, memory_mb: int) -> Limits:
        """A single-threaded decode that has had twice its CPU time on the wall clock is
        waiting for a core that will not come, or stuck."""
        return cls(cpu_seconds, memory_mb, 2 * cpu_seconds + 2)

    def within(self, seconds: float) -> Limits:
        """The same limits with the wall clock cut to what remains of a larger budget."""
        return Limits(self.cpu_seconds, self.memory_mb, max(0.1, min(self.wall_seconds, seconds)))


class LimitExceeded(Exception):
    """The work went past one of its limits and was stopped; `limit` is cpu, memory or wall."""

    def __init__(self, limit: str, detail: str):
        super().__init__(detail)
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.limit, str(self)))


def set_limits(cpu_seconds: float, memory_mb: int, *, final: bool = True) -> None:
    """Limit the calling process: `cpu_seconds` more CPU time than it has used so far, and
    `memory_mb` of address space; no core file when a limit is hit.

    `final` (before exec'ing ffmpeg) sets the hard limits too: at the hard CPU limit the
    kernel sends SIGKILL, where ffmpeg would catch SIGXCPU and exit 255 as if it had merely
    failed. A child that serves more calls keeps its hard limits open to set the next
    call's; Python leaves SIGXCPU at its default action, which ends the process."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(used.ru_utime + used.ru_stime + cpu_seconds)
    memory = memory_mb * 1024 * 1024
    for which, soft in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory)):
        hard = soft if final else resource.getrlimit(which)[1]
        resource.setrlimit(which, (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(fn: Callable[..., T], *args: Any, limits: Limits) -> T:
    """`fn(*args)` in a child under `limits`. `fn` must be a module-level function and
    its arguments and result picklable. Its exceptions are raised here; a breached limit
    raises LimitExceeded."""
    return _pool().run(fn, args, limits)


# ------------------------------------------------------------------ the child


def _serve(conn: Connection, calls: int, retire_rss_mb: int) -> None:
    """A child's life: calls, each under its own limits, until it should not be kept."""
    for served in range(1, calls + 1):
        try:
            fn, args, limits = conn.recv()
        except (EOFError, ConnectionError):
            # The parent let this child go, or went away: closed its end (EOF), or was
            # SIGKILLed with the pipe unread (a reset). Either way there is nothing to serve.
            return
        set_limits(limits.cpu_seconds, limits.memory_mb, final=False)
        status, value = _outcome(fn, args, limits)
        keep = status == "ok" or not isinstance(value, LimitExceeded | MemoryError)
        keep = keep and served < calls and _peak_rss_mb() <= retire_rss_mb
        conn.send_bytes(_pickled(status, value, keep))
        if not keep:
            return


def _outcome(fn: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except MemoryError:
        return "raise", LimitExceeded("memory", f"needed more than {limits.memory_mb} MB")
    except Exception as exc:
        return "raise", exc


def _pickled(status: str, value: Any, keep: bool) -> bytes:
    try:
        return pickle.dumps((status, value, keep))
    except Exception:  # what does not pickle still says what it was
        return pickle.dumps(("raise", RuntimeError(f"{type(value).__name__}: {value}"), keep))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: in KiB


# ------------------------------------------------------------------ the parent


class _Child:
    def __init__(self, ctx: Any) -> None:
        self.conn, theirs = ctx.Pipe()
        # daemon: never waited for at exit, where an idle child would wait for work for ever.
        args = (theirs, CALLS_PER_CHILD, RETIRE_RSS_MB)  # read here: the child's copy is stale
        self.proc = ctx.Process(target=_serve, args=args, daemon=True)
        self.proc.start()
        theirs.close()
        self.usable = True

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> Any:
        self.usable = False  # until it answers and says it may be kept
        try:
            self.conn.send((fn, args, limits))
            if not self.conn.poll(limits.wall_seconds):
                self.close(kill=True)
                raise LimitExceeded("wall", f"took more than {limits.wall_seconds:.0f} s")
            status, value, self.usable = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise self._death(limits) from None
        if status == "raise":
            raise value
        return value

    def _death(self, limits: Limits) -> Exception:
        self.close()
        self.proc.join(5)
        code = self.proc.exitcode
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return LimitExceeded("cpu", f"used more than {limits.cpu_seconds:.0f} s of CPU")
        return RuntimeError(f"the decoding process died (exit {code})")

    def close(self, kill: bool = False) -> None:
        """Let the child go: it sees EOF and exits (or is killed); reaped later."""
        if kill:
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


class _Pool:
    def __init__(self, spares: int) -> None:
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        self._idle: list[_Child] = []
        self._size = spares
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
        child = self._take()
        try:
            return child.call(fn, args, limits)
        finally:
            self._give_back(child)

    def _take(self) -> _Child:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Child(self._ctx)

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if child.usable and len(self._idle) < self._size:
                self._idle.append(child)
                return
        child.close()
        # Children that were let go have exited or will; reap them so none stays a zombie.
        mp.active_children()


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        # A forked copy of this process (a gunicorn worker) must not share the parent's children.
        if _POOL is None or _POOL._pid != os.getpid():
            _POOL = _Pool(SPARES)
        return _POOL
