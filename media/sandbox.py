"""Bounded work: run one decode in a child process with CPU, memory and wall-clock limits.

A crafted file can make a decoder spin (a progressive JPEG of 30,000 scans) or allocate without
end, and nothing inside the decoder stops it; only the kernel can. Each call therefore runs in
a child of its own: `RLIMIT_CPU` kills it (SIGXCPU) past its CPU seconds, `RLIMIT_AS` makes its
allocations fail past its memory, and the parent kills it when the wall clock runs out. A child
serves exactly one call, so the limits are the call's alone and no state (a leaked buffer, a
half-set global) survives into the next file.

Starting a child costs tens of milliseconds, so children are started ahead of need: from a
forkserver that has Pillow imported already, a few spares wait for a call each, and a
replacement is started while the call runs. The forkserver belongs to the process (one per
process in `multiprocessing`), so the pool of spares is process-wide too, made on first use.
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
PRELOAD = ["media.sandbox", "media.images"]
SPARES = 2  # the media worker runs 2 threads by default; a third caller waits one cold start


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


def set_limits(cpu_seconds: float, memory_mb: int) -> None:
    """Limit the calling process (also used before exec'ing ffmpeg). The CPU limit counts from
    the CPU time the process has already used; no core file is written when it is hit."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    limit = math.ceil(used.ru_utime + used.ru_stime + cpu_seconds)
    # Hard = soft: the kernel sends SIGKILL with the SIGXCPU. ffmpeg catches SIGXCPU and
    # exits 255 as if it had failed, which would hide why.
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(fn: Callable[..., T], *args: Any, limits: Limits) -> T:
    """`fn(*args)` in a fresh child under `limits`. `fn` must be a module-level function and
    its arguments and result picklable. Its exceptions are raised here; a breached limit
    raises LimitExceeded."""
    return _pool().run(fn, args, limits)


# ------------------------------------------------------------------ the child


def _serve(conn: Connection) -> None:
    """A child's life: wait for one call, run it under its limits, answer, exit."""
    try:
        fn, args, limits = conn.recv()
    except EOFError:
        return  # the parent went away (or shut the pool) before giving us work
    set_limits(limits.cpu_seconds, limits.memory_mb)
    conn.send_bytes(_outcome(fn, args, limits))


def _outcome(fn: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> bytes:
    try:
        return pickle.dumps(("ok", fn(*args)))
    except MemoryError:
        exc: BaseException = LimitExceeded("memory", f"needed more than {limits.memory_mb} MB")
    except Exception as e:
        exc = e
    try:
        return pickle.dumps(("raise", exc))
    except Exception:  # an exception that does not pickle still says what it was
        return pickle.dumps(("raise", RuntimeError(f"{type(exc).__name__}: {exc}")))


# ------------------------------------------------------------------ the parent


class _Child:
    def __init__(self, ctx: Any) -> None:
        self.conn, theirs = ctx.Pipe()
        # daemon: never waited for at exit, where a spare would wait for work for ever.
        self.proc = ctx.Process(target=_serve, args=(theirs,), daemon=True)
        self.proc.start()
        theirs.close()

    def send(self, fn: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> None:
        self.conn.send((fn, args, limits))

    def result(self, limits: Limits) -> Any:
        try:
            if not self.conn.poll(limits.wall_seconds):
                self.kill()
                raise LimitExceeded("wall", f"took more than {limits.wall_seconds:.0f} s")
            status, value = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise self._death(limits) from None
        finally:
            self.conn.close()
        if status == "raise":
            raise value
        return value

    def _death(self, limits: Limits) -> Exception:
        self.proc.join(5)
        code = self.proc.exitcode
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return LimitExceeded("cpu", f"used more than {limits.cpu_seconds:.0f} s of CPU")
        return RuntimeError(f"the decoding process died (exit {code})")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)


class _Pool:
    def __init__(self, spares: int) -> None:
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        self._spares: list[_Child] = []
        self._size = spares
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
        child = self._take()
        child.send(fn, args, limits)
        self._top_up()  # while the child works: the next call finds a spare waiting
        return child.result(limits)

    def _take(self) -> _Child:
        with self._lock:
            while self._spares:
                child = self._spares.pop()
                if child.proc.is_alive():
                    return child
        return _Child(self._ctx)

    def _top_up(self) -> None:
        with self._lock:
            missing = self._size - len(self._spares)
        fresh = [_Child(self._ctx) for _ in range(missing)]
        with self._lock:
            room = self._size - len(self._spares)
            self._spares.extend(fresh[:room])
        for extra in fresh[room:]:  # another thread topped up meanwhile
            extra.conn.close()  # its child sees EOF and exits
        # Children that answered have exited; reap them so none lingers as a zombie.
        mp.active_children()


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        # A forked copy of this process (a gunicorn worker) must not share the parent's spares.
        if _POOL is None or _POOL._pid != os.getpid():
            _POOL = _Pool(SPARES)
        return _POOL
