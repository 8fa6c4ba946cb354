"""bench/acme_facade.py still runs end to end, tiny: lego through the broker and straight to
pebble both issue, and the ratio is printed. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_runs_tiny() -> None:
    run = subprocess.run(
        [sys.executable, "bench/acme_facade.py", "--count", "2", "--concurrency", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "direct: 2 certs" in run.stdout and "broker: 2 certs" in run.stdout
    assert "ratio: broker/direct = " in run.stdout
