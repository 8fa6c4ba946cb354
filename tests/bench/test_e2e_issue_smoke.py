"""bench/e2e_issue.py still runs end to end, tiny: AcmeIssuer alone, then the API and a worker
issue every ordered DV certificate from the same pebble, then AcmeIssuer alone again. No timing
is asserted."""

from __future__ import annotations

from tests.bench.scripts import load_bench


async def test_runs_tiny(capsys) -> None:
    bench = load_bench("e2e_issue")
    args = bench.parse_args(["--count", "3", "--concurrency", "3", "--workers", "1"])

    figures = await bench.run(args)

    out = capsys.readouterr().out
    assert figures["reference"]["rate"] > 0 and figures["reference_after"]["rate"] > 0, out
    assert figures["workers1"]["issued"] == 3 and figures["workers1"]["failed"] == 0, out
    assert "of AcmeIssuer alone" in out
