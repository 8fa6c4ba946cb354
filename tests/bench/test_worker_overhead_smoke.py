"""bench/worker_overhead.py still runs end to end, tiny: orders accepted in process, their issue
jobs run against the stub CA, every one succeeds. No timing is asserted."""

from __future__ import annotations

import argparse

from tests.bench.scripts import load_bench


async def test_runs_tiny(capsys) -> None:
    bench = load_bench("worker_overhead")

    await bench.main(argparse.Namespace(count=3, rounds=1))

    out = capsys.readouterr().out
    assert "round 0: 3 jobs" in out, out
    assert "not succeeded" not in out, out
