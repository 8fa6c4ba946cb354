"""bench/api_load.py still runs end to end, tiny: the broker and the floor accept orders of
every level, the floor copies the broker's rows, the listing answers. No timing is asserted."""

from __future__ import annotations

from tests.bench.scripts import load_bench


async def test_runs_tiny(capsys) -> None:
    bench = load_bench("api_load")
    args = bench.parse_args(
        ["--seconds", "0.3", "--concurrency", "1,2", "--list-count", "300", "--list-runs", "2"]
    )

    figures = await bench.run(args)

    out = capsys.readouterr().out
    for level in ("DV", "OV", "EV"):
        assert f"rows one {level} order writes: " in out
        for concurrency in (1, 2):
            cell = figures[f"{level}x{concurrency}"]
            assert cell["rate"] > 0 and cell["floor_rate"] > 0, (level, concurrency, out)
            assert not cell["errors"] and not cell["floor_errors"], (level, concurrency, out)
    assert "ms/req; machine" in out  # PostgreSQL's, Redis's, the client's CPU and the cores' use
    assert "approval 1" in out  # the EV order waits for its approver, in the floor too
    assert figures["list_first"] > 0
