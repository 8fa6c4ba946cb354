"""A real worker process for tests/jobs/test_multi_worker.py, with two test job kinds.

    python -m tests.jobs.worker_process      (configured by CERTBROKER_* like `certbroker worker`)

`test.hang_once` appends "<job id> <pid>" to $CB_TEST_EXECUTIONS, then hangs on its first
execution (so the test can kill or stop the worker holding it) and succeeds on any later one.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.jobs.handlers import HANDLERS, JobContext
from app.jobs.service import JobResult


def executions(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(job_id, int(pid)) for job_id, pid in rows]


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(line)


async def hang_once(ctx: JobContext) -> JobResult:
    log = Path(os.environ["CB_TEST_EXECUTIONS"])
    first = all(job_id != ctx.job.id for job_id, _ in executions(log))
    await asyncio.to_thread(_append, log, f"{ctx.job.id} {os.getpid()}\n")
    if first:
        await asyncio.sleep(3600)
    return JobResult.done()


HANDLERS["test.hang_once"] = hang_once


def main() -> None:
    from app.logs import configure_logging
    from app.settings import Settings
    from app.worker import build_worker

    settings = Settings()
    configure_logging(settings.log_level)
    build_worker(settings, poll_delay=0.05).run()


if __name__ == "__main__":
    main()
