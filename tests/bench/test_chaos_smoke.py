"""bench/chaos.py's short version: a dozen orders through a SIGKILLed worker, a SIGKILLed API
process, a Redis flush and an SCM outage, on its own PostgreSQL database, Redis, SCM simulator
and pebble. Correctness only: nothing lost, stuck or ordered twice at a CA, and every job a
killed worker held took its next step. The run's timings are printed, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_chaos_smoke(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    print(run.stdout[-4000:])
    assert out.exists(), run.stdout[-2000:] + run.stderr[-4000:]
    figures = json.loads(out.read_text())
    assert figures["accepted"] == figures["orders"]
    assert figures["lost"] == 0
    assert figures["stuck"] == 0
    assert figures["issued"] == figures["accepted"], figures["failures"]
    assert figures["key_mismatches"] == 0
    assert figures["scm_duplicate_enrollments"] == 0
    assert figures["pebble_duplicate_orders"] == 0
    assert figures["worker_kills"] >= 1 and figures["killed_jobs_unrecovered"] == 0
    assert figures["redis_flushes"] == 1
