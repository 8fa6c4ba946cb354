"""The jobs API contract."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from app.jobs.models import JobState


class JobPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "9f1c2e4b7a8d4c0e9b1a2f3d4e5c6b7a",
                    "kind": "certificate.issue",
                    "state": "queued",
                    "subject_type": "certificate",
                    "subject_id": "0d9a7c1e2b3f4a5c6d7e8f9a0b1c2d3e",
                    "attempts": 1,
                    "last_error": None,
                    "run_at": "2026-11-26T18:00:00Z",
                    "created_at": "2026-11-26T18:00:00Z",
                    "updated_at": "2026-11-26T18:00:01Z",
                    "started_at": "2026-11-26T18:00:01Z",
                    "finished_at": None,
                }
            ]
        },
    )

    id: str
    kind: str
    state: JobState
    subject_type: str | None
    subject_id: str | None
    attempts: int
    last_error: str | None
    run_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
