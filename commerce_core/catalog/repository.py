"""All SQL of the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import (
    CustomizationRuleSet,
    ImportJob,
    ImportJobStatus,
    Product,
    Variant,
)


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list_products(self, *, category: str | None, limit: int, offset: int
                      ) -> tuple[Sequence[Product], int]:
        query = select(Product)
        count = select(func.count(Product.id))
        if category:
            query = query.where(Product.category == category)
            count = count.where(Product.category == category)
        rows = self.session.scalars(
            query.options(selectinload(Product.variants)).order_by(Product.id)
            .limit(limit).offset(offset)
        ).all()
        return rows, self.session.scalar(count) or 0

    def get_products(self, ids: Sequence[int]) -> dict[int, Product]:
        if not ids:
            return {}
        rows = self.session.scalars(
            select(Product).where(Product.id.in_(ids)).options(selectinload(Product.variants))
        ).all()
        return {p.id: p for p in rows}

    def get_product(self, product_id: int) -> Product | None:
        return self.session.scalar(
            select(Product).where(Product.id == product_id)
            .options(selectinload(Product.variants))
        )

    def get_variant(self, variant_id: int) -> Variant | None:
        return self.session.get(Variant, variant_id)

    def variant_count(self, product_id: int) -> int:
        return self.session.scalar(
            select(func.count(Variant.id)).where(Variant.product_id == product_id)) or 0

    def all_products(self) -> Sequence[Product]:
        return self.session.scalars(
            select(Product).options(selectinload(Product.variants)).order_by(Product.id)
        ).all()

    def products_by_handle(self, handles: Sequence[str]) -> dict[str, Product]:
        if not handles:
            return {}
        rows = self.session.scalars(
            select(Product).where(Product.handle.in_(handles))
            .options(selectinload(Product.variants))
        ).all()
        return {p.handle: p for p in rows}

    def variants_by_sku(self, skus: Sequence[str]) -> dict[str, Variant]:
        if not skus:
            return {}
        rows = self.session.scalars(
            select(Variant).where(Variant.sku.in_(skus)).options(selectinload(Variant.product))
        ).all()
        return {v.sku: v for v in rows}

    def add(self, obj: Product | Variant | CustomizationRuleSet) -> None:
        self.session.add(obj)

    def rule_sets_for(self, *, category: str, skus: Sequence[str]) -> list[CustomizationRuleSet]:
        query = select(CustomizationRuleSet).where(
            ((CustomizationRuleSet.scope_kind == "category")
             & (CustomizationRuleSet.scope_value == category))
            | ((CustomizationRuleSet.scope_kind == "sku")
               & (CustomizationRuleSet.scope_value.in_(list(skus) or [""])))
        ).order_by(CustomizationRuleSet.scope_kind)
        return list(self.session.scalars(query).all())

    def rule_set(self, *, scope_kind: str, scope_value: str) -> CustomizationRuleSet | None:
        return self.session.scalar(
            select(CustomizationRuleSet).where(
                CustomizationRuleSet.scope_kind == scope_kind,
                CustomizationRuleSet.scope_value == scope_value,
            )
        )


class ImportJobRepository:
    """The rows of background catalog imports; every change is guarded by the status the
    writer expects, so a job given up by one process is not revived by another."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, job: ImportJob) -> ImportJob:
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, job_id: int) -> ImportJob | None:
        return self.session.scalar(select(ImportJob).where(ImportJob.id == job_id)
                                   .execution_options(populate_existing=True))

    def update(self, job_id: int, *, expected: ImportJobStatus, **values: Any) -> bool:
        """Change the job if it is still ``expected``; False (nothing changed) otherwise."""
        result = self.session.execute(
            update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == expected)
            .values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def fail_stale(self, *, stale_before: datetime, now: datetime, failure: str,
                   job_id: int | None = None) -> int:
        """Fail the queued or running jobs (or the one job) not heard of since then."""
        query = (update(ImportJob)
                 .where(ImportJob.status.in_([ImportJobStatus.QUEUED, ImportJobStatus.RUNNING]),
                        ImportJob.heartbeat_at < stale_before)
                 .values(status=ImportJobStatus.FAILED, failure=failure, finished_at=now)
                 .execution_options(synchronize_session=False))
        if job_id is not None:
            query = query.where(ImportJob.id == job_id)
        return self.session.execute(query).rowcount
