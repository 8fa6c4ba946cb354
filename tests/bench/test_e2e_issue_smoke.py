"""bench/e2e_issue.py still runs end to end, tiny: AcmeIssuer alone, then the API and a worker
issue every ordered DV certificate from the same pebble. No timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("e2e_issue", BENCH / "e2e_issue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_runs_tiny(capsys) -> None:
    bench = load_bench()
    args = bench.parse_args(["--count", "3", "--concurrency", "3", "--workers", "1"])

    figures = await bench.run(args)

    out = capsys.readouterr().out
    assert figures["reference"]["rate"] > 0, out
    assert figures["workers1"]["issued"] == 3 and figures["workers1"]["failed"] == 0, out
    assert "of AcmeIssuer alone" in out
