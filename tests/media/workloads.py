"""Work for the sandbox tests to run in a child: module-level, so it pickles by reference."""

from __future__ import annotations

import os
import time

from media.images import MediaRejected


def spin() -> None:
    while True:
        pass


def burn(cpu_seconds: float) -> None:
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def allocate(mb: int) -> int:
    return len(bytearray(mb * 1024 * 1024))


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def pid() -> int:
    return os.getpid()


def refuse(rule: str) -> None:
    raise MediaRejected(rule, f"refused by rule {rule}")


def crash() -> None:
    os.abort()
