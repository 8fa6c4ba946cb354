"""bench/inventory_scale.py still runs: a small load on SQLite, every figure produced. No timing
is asserted; the benchmark's figures are for reading, not for failing a build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "inventory_scale.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("inventory_scale", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_runs_on_a_small_sqlite_inventory(capsys) -> None:
    bench = load_bench()
    args = bench.parse_args(
        ["--count", "2000", "--engines", "sqlite", "--runs", "1", "--due", "20"]
    )

    results = await bench.run(args)

    figures = results["sqlite"]
    assert figures["due"] == 20  # the loaded dates compare as the app's own queries expect
    assert figures["page_rows"] > 0
    assert {"check", "range_scan", "naive", "page", "load"} <= set(figures)
    assert "inventory page 1" in capsys.readouterr().out
