from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from commerce_core.models.base import Base, UtcDateTime, text_enum, utcnow


class ImportJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportJob(Base):
    """A catalog import run in the background: its progress and, once done, its report.

    A row, not a value in some process's memory, so that any replica can answer for it and
    a job whose process died is seen to have stopped (``heartbeat_at`` goes stale).
    """

    __tablename__ = "catalog_import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ImportJobStatus] = mapped_column(text_enum(ImportJobStatus, 16))
    file_bytes: Mapped[int] = mapped_column(Integer)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    """Known once the file has been read through."""
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    """Rows applied or refused so far."""
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The refused rows' problems (the first 1,000)."""
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str | None] = mapped_column(String(500))
    """Why the job failed, if it did."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    """Touched by the process running (or queueing) the job; stale means it is gone."""
