"""Catalog imports too large for one request, run in the background as a job.

The request stores a job row, hands the file to this process's :class:`ImportRunner` and
answers at once. The runner reads the file twice, streaming: first to check every row
and count each product's rows, then to apply the products in batches, each committed
with the job's progress, so that what is held in memory is the file and the rows of the
products not complete yet (variant rows are usually next to each other). Jobs of one
process run one after the other, and each touches ``heartbeat_at`` while it waits or works:
a job whose process died is seen to have stopped once that goes stale, and is marked
failed — when the app starts, or when someone asks for it. The search index hears of the
change (``catalog.changed``) when the job ends, as after an import in a request.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from commerce_core import clock
from commerce_core.catalog.importer import (
    Applied,
    CatalogFileError,
    Group,
    ParsedRow,
    apply_groups,
    batches,
    slugify,
    validated_rows,
)
from commerce_core.catalog.repository import ImportJobRepository
from commerce_core.catalog.schemas import (
    MAX_REPORTED_ERRORS,
    ImportJobOut,
    ImportReport,
    ImportRowError,
)
from commerce_core.config import get_settings
from commerce_core.events import emit
from commerce_core.models import ImportJob, ImportJobStatus

log = logging.getLogger(__name__)
STOPPED = ("The service stopped during the import; {done} of {total} rows were done. "
           "Import the file again to finish: rows already imported come out unchanged.")
NOT_STARTED = "The service stopped before the import began; import the file again."
GONE = "The import stopped (its server went away); import the file again to finish."
UNEXPECTED = "The import failed unexpectedly (the error is in the server's log)."
CLASH = ("A product or SKU of this file was changed by someone else during the import; "
         "import the file again to finish.")


@dataclass
class Plan:
    """What the first reading found: every row's problems and each product's size."""

    total: int = 0
    rejected: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    errors_total: int = 0
    sizes: Counter[str] = field(default_factory=Counter)


def plan(text: str, currency: str, *, alive: Callable[[], None] = lambda: None,
         every: int = 10_000) -> Plan:
    """Read the file through once; ``alive()`` is called every ``every`` rows (a
    heartbeat: the first reading of a large file takes a while)."""
    result = Plan()
    for row, errors in validated_rows(text, currency):
        result.total += 1
        if result.total % every == 0:
            alive()
        result.errors_total += len(errors)
        room = MAX_REPORTED_ERRORS - len(result.errors)
        result.errors.extend(errors[:max(room, 0)])
        if row is None:
            result.rejected += 1
        else:
            result.sizes[row.handle or slugify(row.sku)] += 1
    return result


def complete_groups(text: str, currency: str, sizes: Counter[str]) -> Iterator[Group]:
    """The second reading: each product with its rows, as soon as the last one is read."""
    pending: dict[str, list[ParsedRow]] = {}
    for row, _ in validated_rows(text, currency):
        if row is None:
            continue
        key = row.handle or slugify(row.sku)
        rows = pending.setdefault(key, [])
        rows.append(row)
        if len(rows) == sizes[key]:
            yield key, pending.pop(key)


def job_out(job: ImportJob) -> ImportJobOut:
    finished = job.status in (ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED)
    report = ImportReport(
        created=job.created, updated=job.updated, unchanged=job.unchanged,
        rows=job.rows_total or 0, errors=[ImportRowError(**e) for e in job.errors],
        errors_total=job.errors_total) if finished else None
    return ImportJobOut(id=job.id, status=job.status.value, rows_total=job.rows_total,
                        rows_done=job.rows_done, report=report, failure=job.failure,
                        created_at=job.created_at, started_at=job.started_at,
                        finished_at=job.finished_at)


def create_job(*, session: Session, file_bytes: int, now: datetime) -> ImportJob:
    """A queued job; the caller commits, then :meth:`ImportRunner.submit` s it."""
    return ImportJobRepository(session).add(ImportJob(
        status=ImportJobStatus.QUEUED, file_bytes=file_bytes, rows_done=0, created=0,
        updated=0, unchanged=0, errors=[], errors_total=0, created_at=now, heartbeat_at=now))


def stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=get_settings().import_job_stale_seconds)


def get_job(*, session: Session, job_id: int, now: datetime) -> ImportJob | None:
    """The job, marked failed first if its process is gone (the caller commits)."""
    repo = ImportJobRepository(session)
    repo.fail_stale(stale_before=stale_before(now), now=now, failure=GONE, job_id=job_id)
    return repo.get(job_id)


def fail_stale_jobs(*, factory: sessionmaker[Session]) -> int:
    """At start-up: jobs left queued or running by a process that is gone are failed
    (those of another replica that is alive keep their fresh heartbeat)."""
    with factory() as session:
        now = clock.now()
        count = ImportJobRepository(session).fail_stale(stale_before=stale_before(now),
                                                        now=now, failure=GONE)
        session.commit()
    if count:
        log.warning("%d catalog import jobs were left by a server that went away", count)
    return count


class _Given(Exception):
    """The job was marked failed meanwhile (its heartbeat went stale): stop quietly."""


def run_import(*, factory: sessionmaker[Session], job_id: int, text: str, currency: str,
               stopping: threading.Event, batch_rows: int) -> None:
    """Run one job to its end in this thread: succeeded, or failed with a reason."""
    applied = Applied()
    done = 0

    def save(session: Session, **values: object) -> None:
        if not ImportJobRepository(session).update(job_id, expected=ImportJobStatus.RUNNING,
                                                   heartbeat_at=clock.now(), **values):
            raise _Given

    def progress(before: Applied, done: int) -> Callable[[Session, Applied], None]:
        """Saves the job's progress after a batch, in the batch's transaction."""
        before = Applied(before.created, before.updated, before.unchanged)

        def save_progress(session: Session, batch: Applied) -> None:
            total = Applied(before.created, before.updated, before.unchanged)
            total += batch
            save(session, rows_done=done, created=total.created, updated=total.updated,
                 unchanged=total.unchanged)

        return save_progress

    def finish(status: ImportJobStatus, failure: str | None = None) -> None:
        with factory() as session:
            if applied.created or applied.updated:
                emit(session, "catalog.changed")
            save(session, status=status, failure=failure, finished_at=clock.now())
            session.commit()

    try:
        with factory() as session:
            now = clock.now()
            if not ImportJobRepository(session).update(
                    job_id, expected=ImportJobStatus.QUEUED, status=ImportJobStatus.RUNNING,
                    started_at=now, heartbeat_at=now):
                return  # given up while it waited
            session.commit()

        def alive() -> None:
            with factory() as session:
                save(session)
                session.commit()

        try:
            found = plan(text, currency, alive=alive)
        except CatalogFileError as exc:
            finish(ImportJobStatus.FAILED, str(exc)[:500])
            return
        done = found.rejected
        with factory() as session:
            save(session, rows_total=found.total, rows_done=done,
                 errors=[e.model_dump() for e in found.errors],
                 errors_total=found.errors_total)
            session.commit()
        for batch in batches(complete_groups(text, currency, found.sizes), batch_rows):
            if stopping.is_set():
                finish(ImportJobStatus.FAILED, STOPPED.format(done=done, total=found.total))
                return
            done += sum(len(rows) for _, rows in batch)
            applied += _apply(factory, batch, progress(applied, done))
        finish(ImportJobStatus.SUCCEEDED)
        log.info("catalog import job %s: %d rows, %d created, %d updated, %d unchanged",
                 job_id, found.total, applied.created, applied.updated, applied.unchanged)
    except _Given:
        log.warning("catalog import job %s was given up while it ran", job_id)
    except SQLAlchemyError as exc:
        log.exception("catalog import job %s failed", job_id)
        reason = CLASH if isinstance(exc, IntegrityError) else (
            f"The database failed during the import ({type(exc).__name__}); import the file "
            "again to finish.")
        try:
            finish(ImportJobStatus.FAILED, reason)
        except (SQLAlchemyError, _Given):
            log.exception("catalog import job %s could not be marked failed; it will be "
                          "once its heartbeat is stale", job_id)


def _apply(factory: sessionmaker[Session], batch: list[Group],
           progress: Callable[[Session, Applied], None]) -> Applied:
    """Apply one batch and save the job's progress in one transaction. A SKU or handle
    taken meanwhile by another writer (another replica's import) fails the first try; the
    second sees it and updates."""
    for attempt in (1, 2):
        with factory() as session:
            try:
                applied = apply_groups(session=session, groups=batch)
                session.flush()
                progress(session, applied)
                session.commit()
                return applied
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


class ImportRunner:
    """Runs this process's import jobs in background threads, one job at a time."""

    def __init__(self) -> None:
        self._turn = threading.Lock()
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._guard = threading.Lock()

    def submit(self, *, factory: sessionmaker[Session], job_id: int, text: str,
               currency: str) -> None:
        thread = threading.Thread(target=self._run, name=f"catalog-import-{job_id}",
                                  args=(factory, job_id, text, currency), daemon=True)
        with self._guard:
            self._threads.add(thread)
        thread.start()

    def _run(self, factory: sessionmaker[Session], job_id: int, text: str,
             currency: str) -> None:
        settings = get_settings()
        try:
            while not self._turn.acquire(timeout=settings.import_job_heartbeat_seconds):
                if self._stopping.is_set():
                    self._give_up(factory, job_id, ImportJobStatus.QUEUED, NOT_STARTED)
                    return
                if not self._still_queued(factory, job_id):
                    return
            try:
                run_import(factory=factory, job_id=job_id, text=text, currency=currency,
                           stopping=self._stopping, batch_rows=settings.import_batch_rows)
            except Exception:  # a bug: logged, and the job says it failed (not "running")
                log.exception("catalog import job %s failed unexpectedly", job_id)
                self._give_up(factory, job_id, ImportJobStatus.RUNNING, UNEXPECTED)
            finally:
                self._turn.release()
        finally:
            with self._guard:
                self._threads.discard(threading.current_thread())

    @staticmethod
    def _still_queued(factory: sessionmaker[Session], job_id: int) -> bool:
        """Touch a waiting job's heartbeat; False if it was given up meanwhile."""
        try:
            with factory() as session:
                alive = ImportJobRepository(session).update(
                    job_id, expected=ImportJobStatus.QUEUED, heartbeat_at=clock.now())
                session.commit()
                return alive
        except SQLAlchemyError:
            log.exception("catalog import job %s: heartbeat not written", job_id)
            return True

    @staticmethod
    def _give_up(factory: sessionmaker[Session], job_id: int, expected: ImportJobStatus,
                 failure: str) -> None:
        with factory() as session:
            ImportJobRepository(session).update(
                job_id, expected=expected, status=ImportJobStatus.FAILED, failure=failure,
                finished_at=clock.now())
            session.commit()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the jobs of this process (each is marked failed at its next batch) and
        wait for them; jobs submitted afterwards run again."""
        self._stopping.set()
        with self._guard:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        self._stopping.clear()


@lru_cache
def import_runner() -> ImportRunner:
    return ImportRunner()
