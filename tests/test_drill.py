"""The fault drill (bench/drill.py) at a tiny size on the embedded default: the command itself
works end to end (the production shape up, uploads and edits through nginx, SIGKILLs and
restarts, drain, sweep, the account) and meets its targets. The README's figures come from
larger runs of the same command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
NGINX = shutil.which("nginx", path=f"{os.environ['PATH']}:/usr/sbin")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="needs Debian's nginx (apt-get install nginx-light)"),
]


def test_the_drill_meets_its_targets_at_a_tiny_size():
    # Short leases, so a job lost with a killed worker comes back within seconds, not 75 s.
    env = {
        **os.environ,
        "SUCAI_JOB_LEASE_SECONDS": "4",
        "SUCAI_REAP_SECONDS": "1",
        "SUCAI_ENQUEUE_GRACE_SECONDS": "6",
    }
    cmd = [sys.executable, "bench/drill.py", "--uploads", "12", "--kills", "3", "--clients", "2",
           "--seconds", "10", "--seed", "7"]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "all targets met" in report
    row = re.search(r"\| acknowledged \(2xx\)\s+\| (\d+)", report)
    assert row and int(row.group(1)) == 12, report
    # three SIGKILLs, the master's among them, each of which the service came back from
    kills = re.findall(
        r"^\| (gunicorn master|gunicorn worker|job worker|indexer) +\| (\d+) ", report, re.M
    )
    assert sum(int(n) for _, n in kills) == 3 and "gunicorn master" in dict(kills), report
