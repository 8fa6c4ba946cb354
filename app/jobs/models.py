"""The job table: every piece of background work is a row the database owns."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_column, new_id, utcnow


class JobState(StrEnum):
    PENDING = "pending"  # waiting for its run_at; the outbox will hand it to Redis
    QUEUED = "queued"  # handed to Redis
    RUNNING = "running"  # claimed by worker claimed_by until lease_until (renewed by heartbeat)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (JobState.PENDING, JobState.QUEUED, JobState.RUNNING)
TERMINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_run_at", "state", "run_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str | None = Field(default=None, index=True, max_length=32)
    kind: str = Field(max_length=64)
    subject_type: str | None = Field(default=None, max_length=32)
    subject_id: str | None = Field(default=None, max_length=64, index=True)
    # At most one active job per dedupe key (e.g. "certificate.issue:<id>"); see service.stage.
    dedupe_key: str | None = Field(default=None, max_length=128, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: JobState = Field(default=JobState.PENDING, sa_type=enum_column(JobState, 16))
    attempts: int = 0  # executions started
    failures: int = 0  # consecutive failed executions; resets on success or progress
    max_failures: int = 20
    last_error: str | None = Field(default=None, max_length=2000)
    enqueue_seq: int = 0  # bumped at every hand-over to Redis; part of the arq job id
    run_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # While running: the worker holding the claim (see app/jobs/liveness.py) and how long the
    # claim lasts unless that worker's heartbeat renews it.
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def arq_job_id(self) -> str:
        return f"cb:{self.id}:{self.enqueue_seq}"


class PeriodicTick(SQLModel, table=True):
    """One row per execution of a periodic task: the worker whose insert wins runs the tick, the
    others skip it (app/jobs/ticks.py)."""

    __tablename__ = "periodic_tick"

    name: str = Field(primary_key=True, max_length=64)
    tick: int = Field(primary_key=True, sa_type=BigInteger)
    worker: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
