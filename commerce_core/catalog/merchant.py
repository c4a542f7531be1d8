"""The merchant's catalog API: products, variants, CSV import/export, customisation rules."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from commerce_core import clock
from commerce_core.auth import MerchantDep
from commerce_core.catalog import jobs, service
from commerce_core.catalog.importer import (
    KEY_RE,
    REQUIRED_COLUMNS,
    SKU_RE,
    CatalogFileError,
    check_header,
    escape_cell,
    import_catalog,
    slugify,
)
from commerce_core.catalog.repository import CatalogRepository
from commerce_core.catalog.schemas import ImportJobOut, ImportReport, ProductDetail
from commerce_core.config import get_settings
from commerce_core.customization import service as rules_service
from commerce_core.customization.repository import RuleRepository
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError, InvalidInput, NotFound, error_responses
from commerce_core.events import emit
from commerce_core.models import Product, Variant
from commerce_core.params import (
    CONTROL_RE,
    MultiLine,
    OneLine,
    ProductId,
    VariantId,
    id_path,
)

router = APIRouter(prefix="/merchant", tags=["merchant"], responses=error_responses(401, 422))
IMPORT_PATH = "/merchant/catalog/import"
"""Under the API's prefix; it takes larger bodies than other routes (``max_import_bytes``)."""
Price = Annotated[Decimal, Field(ge=0, lt=1_000_000, max_digits=9, decimal_places=2)]
def _check_attributes(value: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, item in value.items():
        key, item = key.strip().lower(), item.strip().lower()
        if CONTROL_RE.search(item):
            raise ValueError(f"attribute {key!r}: must not contain control characters")
        if not KEY_RE.match(key) or not item or len(item) > 100 or "|" in item:
            raise ValueError(f"attribute {key!r}: names are lowercase words, values 1-100 "
                             "characters without '|'")
        out[key] = item
    return out


Attributes = Annotated[dict[str, str], Field(max_length=30), AfterValidator(_check_attributes)]


class VariantIn(BaseModel):
    sku: str = Field(max_length=64)
    price: Price
    stock: int = Field(ge=0, le=1_000_000)
    attributes: Attributes = Field(default_factory=dict)
    weight_grams: int = Field(default=400, ge=1, le=100_000)

    @field_validator("sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        if not SKU_RE.match(value):
            raise ValueError("letters, digits, '.', '_' or '-', at most 64 characters")
        return value.upper()



class VariantPatch(BaseModel):
    price: Price | None = None
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    attributes: Attributes | None = None
    weight_grams: int | None = Field(default=None, ge=1, le=100_000)



class ProductIn(BaseModel):
    name: OneLine = Field(min_length=1, max_length=200)
    description: MultiLine = Field(default="", max_length=5000)
    category: OneLine = Field(min_length=1, max_length=60)
    image_url: OneLine = Field(default="", max_length=500)
    attributes: Attributes = Field(default_factory=dict)
    handle: OneLine | None = Field(default=None, max_length=120)
    variants: list[VariantIn] = Field(min_length=1, max_length=100)



class ProductPatch(BaseModel):
    name: OneLine | None = Field(default=None, min_length=1, max_length=200)
    description: MultiLine | None = Field(default=None, max_length=5000)
    category: OneLine | None = Field(default=None, min_length=1, max_length=60)
    image_url: OneLine | None = Field(default=None, max_length=500)
    attributes: Attributes | None = None



class Duplicate(CommerceError):
    code = "duplicate"
    http_status = 409


def _product(session: Session, product_id: int) -> Product:
    product = CatalogRepository(session).get_product(product_id)
    if product is None:
        raise NotFound(f"There is no product with id {product_id}.", code="product_not_found")
    return product


def _variant(session: Session, variant_id: int) -> Variant:
    variant = CatalogRepository(session).get_variant(variant_id)
    if variant is None:
        raise NotFound(f"There is no variant with id {variant_id}.", code="variant_not_found")
    return variant


def _commit(session: Session, what: str) -> None:
    emit(session, "catalog.changed")
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Duplicate(f"{what} clashes with an existing handle or SKU.") from None


@router.post("/products", response_model=ProductDetail, status_code=201,
             responses=error_responses(409, 413))
def create_product(_: MerchantDep, session: SessionDep, body: ProductIn) -> ProductDetail:
    currency = get_settings().default_currency
    product = Product(
        handle=slugify(body.handle or body.name), name=body.name, description=body.description,
        category=body.category.lower(), image_url=body.image_url, attributes=body.attributes,
        currency=currency,
        variants=[Variant(sku=v.sku, price=v.price, currency=currency, stock=v.stock,
                          attributes=v.attributes, weight_grams=v.weight_grams)
                  for v in body.variants])
    session.add(product)
    _commit(session, "This product")
    return service.get_product(session=session, product_id=product.id)


@router.patch("/products/{product_id}", response_model=ProductDetail,
              responses=error_responses(404, 409, 413))
def update_product(_: MerchantDep, session: SessionDep, product_id: ProductId,
                   body: ProductPatch) -> ProductDetail:
    product = _product(session, product_id)
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(product, key, value.lower() if key == "category" else value)
    _commit(session, "This product")
    return service.get_product(session=session, product_id=product_id)


@router.delete("/products/{product_id}", status_code=204,
               responses=error_responses(404, 409))
def delete_product(_: MerchantDep, session: SessionDep, product_id: ProductId) -> Response:
    session.delete(_product(session, product_id))
    _commit(session, "This product")
    return Response(status_code=204)


@router.post("/products/{product_id}/variants", response_model=ProductDetail,
             status_code=201, responses=error_responses(404, 409, 413))
def add_variant(_: MerchantDep, session: SessionDep, product_id: ProductId,
                body: VariantIn) -> ProductDetail:
    product = _product(session, product_id)
    product.variants.append(Variant(sku=body.sku, price=body.price, currency=product.currency,
                                    stock=body.stock, attributes=body.attributes,
                                    weight_grams=body.weight_grams))
    _commit(session, f"SKU {body.sku}")
    return service.get_product(session=session, product_id=product_id)


@router.patch("/variants/{variant_id}", response_model=ProductDetail,
              responses=error_responses(404, 409, 413))
def update_variant(_: MerchantDep, session: SessionDep, variant_id: VariantId,
                   body: VariantPatch) -> ProductDetail:
    variant = _variant(session, variant_id)
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(variant, key, value)
    _commit(session, "This variant")
    return service.get_product(session=session, product_id=variant.product_id)


@router.delete("/variants/{variant_id}", status_code=204,
               responses=error_responses(404, 409))
def delete_variant(_: MerchantDep, session: SessionDep, variant_id: VariantId) -> Response:
    variant = _variant(session, variant_id)
    if CatalogRepository(session).variant_count(variant.product_id) == 1:
        raise CommerceError("A product needs at least one variant; delete the product instead.",
                            code="last_variant", http_status=409)
    session.delete(variant)
    _commit(session, "This variant")
    return Response(status_code=204)


async def _csv_text(request: Request) -> str:
    limit = get_settings().max_import_bytes
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise CommerceError(f"The file is larger than {limit:,} bytes.",
                                code="file_too_large", http_status=413)
    try:
        return bytes(raw).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The file is not UTF-8 text (byte {exc.start}).",
                           code="invalid_file") from None


def _import_now(session: Session, text: str) -> ImportReport:
    report = import_catalog(session=session, text=text)
    _commit(session, "A row")
    return report


def _queue_job(session: Session, size: int) -> ImportJobOut:
    job = jobs.create_job(session=session, file_bytes=size, now=clock.now())
    session.commit()
    return jobs.job_out(job)


@router.post(IMPORT_PATH.removeprefix("/merchant"), response_model=ImportReport,
             responses={202: {"model": ImportJobOut, "description": "a large file (or "
                              "background=true): the import runs as a job, see Location"},
                        **error_responses(413)},
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {
                 "type": "string"}}}, "required": True}})
async def import_csv(_: MerchantDep, session: SessionDep, request: Request,
                     background: Annotated[bool, Query(
                         description="run as a background job whatever the size")] = False,
                     ) -> ImportReport | JSONResponse:
    """Import a catalog CSV (the merchant format); bad rows are reported, never half-applied.

    A file over ``import_sync_max_bytes`` (1 MiB) runs as a background job: the answer is
    ``202`` with the job and its address (``Location``), to be followed until it ends.
    """
    text = await _csv_text(request)
    size = len(text.encode())
    settings = get_settings()
    try:
        if background or size > settings.import_sync_max_bytes:
            check_header(text)
            job = await run_in_threadpool(_queue_job, session, size)
            jobs.import_runner().submit(
                factory=sessionmaker(session.get_bind(), expire_on_commit=False),
                job_id=job.id, text=text, currency=settings.default_currency)
            return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={
                "Location": request.app.url_path_for("import_job", job_id=str(job.id))})
        return await run_in_threadpool(_import_now, session, text)
    except CatalogFileError as exc:
        raise InvalidInput(str(exc), code="invalid_file") from None


@router.get("/catalog/import-jobs/{job_id}", response_model=ImportJobOut,
            responses=error_responses(404))
def import_job(_: MerchantDep, session: SessionDep,
               job_id: Annotated[int, id_path("import job")]) -> ImportJobOut:
    """A background import: its status, its progress, and its report once it has ended."""
    job = jobs.get_job(session=session, job_id=job_id, now=clock.now())
    session.commit()
    if job is None:
        raise NotFound(f"There is no import job {job_id}.", code="import_job_not_found")
    return jobs.job_out(job)


@router.get("/catalog/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(_: MerchantDep, session: SessionDep) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*REQUIRED_COLUMNS, "handle", "weight_grams"])
    for product in CatalogRepository(session).all_products():
        many = len(product.variants) > 1
        for variant in product.variants:
            attributes = {**product.attributes, **variant.attributes}
            # the handle is left out only where the import derives the same one
            handle = product.handle if many or product.handle != slugify(variant.sku) else ""
            writer.writerow([escape_cell(str(value)) for value in (
                variant.sku, product.name, product.description, product.category,
                f"{variant.price:.2f}", variant.currency, variant.stock,
                "|".join(f"{k}:{v}" for k, v in attributes.items()), product.image_url,
                handle, variant.weight_grams)])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="catalog.csv"'})


ScopeKind = Annotated[str, Path(pattern="^(category|sku)$")]
ScopeValue = Annotated[OneLine, Path(max_length=120)]


def _scope_value(scope_kind: str, scope_value: str) -> str:
    return scope_value.strip().lower() if scope_kind == "category" else (
        scope_value.strip().upper())


@router.get("/rules/{scope_kind}/{scope_value}", responses=error_responses(404))
def get_rules(_: MerchantDep, session: SessionDep, scope_kind: ScopeKind,
              scope_value: ScopeValue) -> dict[str, Any]:
    """The rules as stored (also rules that no longer parse, so that they can be fixed)."""
    rule_set = RuleRepository(session).rule_set(
        scope_kind=scope_kind, scope_value=_scope_value(scope_kind, scope_value))
    if rule_set is None:
        raise NotFound(f"No customisation rules for {scope_kind} {scope_value}.",
                       code="rules_not_found")
    return rule_set.spec


@router.put("/rules/{scope_kind}/{scope_value}", responses=error_responses(409, 413))
def put_rules(_: MerchantDep, session: SessionDep, scope_kind: ScopeKind,
              scope_value: ScopeValue, spec: dict[str, Any]) -> dict[str, Any]:
    """Create or replace the rules of a category or product (the YAML file's structure).

    They are checked completely — each option, and with the products they apply to — and
    stored in a normalised form; on any problem nothing is stored.
    """
    rule_set = rules_service.save_rules(
        session=session, raw={**spec, "scope": {scope_kind: scope_value}}, source="api")
    _commit(session, "These rules")
    return rule_set.spec


@router.delete("/rules/{scope_kind}/{scope_value}", status_code=204,
               responses=error_responses(409))
def delete_rules(_: MerchantDep, session: SessionDep, scope_kind: ScopeKind,
                 scope_value: ScopeValue) -> Response:
    rules_service.delete_rules(session=session, scope_kind=scope_kind,
                               scope_value=_scope_value(scope_kind, scope_value))
    _commit(session, "These rules")
    return Response(status_code=204)
