"""bench/inventory_scale.py still runs: a small load on SQLite, every figure produced. No timing
is asserted; the benchmark's figures are for reading, not for failing a build."""

from __future__ import annotations

from tests.bench.scripts import load_bench


async def test_runs_on_a_small_sqlite_inventory(capsys) -> None:
    bench = load_bench("inventory_scale")
    args = bench.parse_args(
        ["--count", "2000", "--engines", "sqlite", "--runs", "1", "--due", "20"]
    )

    results = await bench.run(args)

    figures = results["sqlite"]
    assert figures["due"] == 20  # the loaded dates compare as the app's own queries expect
    assert figures["page_rows"] > 0
    assert {"check", "range_scan", "naive", "page", "load"} <= set(figures)
    assert "inventory page 1" in capsys.readouterr().out
