from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from commerce_core.catalog.importer import CatalogFileError, import_catalog, parse_catalog
from commerce_core.models import Product, Variant
from tests.conftest import DEMO_CATALOG

HEADER = "sku,name,description,category,price,currency,stock,attributes,image_url,handle\n"


def test_demo_catalog_loads_through_the_merchant_import(demo_catalog: sessionmaker[Session]
                                                        ) -> None:
    with demo_catalog() as session:
        products = session.scalar(select(func.count(Product.id)))
        variants = session.scalar(select(func.count(Variant.id)))
        categories = set(session.scalars(select(Product.category).distinct()))
        price = session.scalar(select(Variant.price).where(Variant.sku == "CER-MUG-001"))
    rows = DEMO_CATALOG.read_text().count("\n") - 1
    assert variants == rows >= 300
    assert 300 <= products <= variants
    assert {"ceramics", "prints", "jewellery", "textiles", "leather", "stationery"} <= categories
    assert isinstance(price, Decimal) and price == Decimal("32.00")


def test_rows_sharing_a_handle_become_variants_of_one_product(session: Session) -> None:
    text = HEADER + (
        "RING-J,Stacking Ring — J,Thin band.,jewellery,35.00,EUR,3,"
        "type:ring|material:sterling silver|size:j,/img.svg,stacking-ring\n"
        "RING-L,Stacking Ring — L,Thin band.,jewellery,37.50,EUR,0,"
        "type:ring|material:sterling silver|size:l,/img.svg,stacking-ring\n"
    )
    report = import_catalog(session=session, text=text)
    session.commit()
    assert (report.created, report.errors) == (2, [])
    product = session.scalar(select(Product).options(selectinload(Product.variants)))
    assert product is not None
    assert product.name == "Stacking Ring"
    assert product.attributes == {"type": "ring", "material": "sterling silver"}
    assert [(v.sku, v.attributes, v.price, v.stock) for v in product.variants] == [
        ("RING-J", {"size": "j"}, Decimal("35.00"), 3),
        ("RING-L", {"size": "l"}, Decimal("37.50"), 0),
    ]


def test_reimport_updates_in_place(session: Session) -> None:
    row = "MUG-1,Blue Mug,Nice.,ceramics,{price},EUR,{stock},type:mug|colour:blue,/m.svg,\n"
    import_catalog(session=session, text=HEADER + row.format(price="20.00", stock=5))
    session.commit()
    report = import_catalog(session=session, text=HEADER + row.format(price="22.50", stock=7))
    session.commit()
    assert (report.created, report.updated) == (0, 1)
    variant = session.scalar(select(Variant))
    assert variant is not None
    assert (variant.price, variant.stock) == (Decimal("22.50"), 7)
    assert session.scalar(select(func.count(Product.id))) == 1


def test_bad_rows_are_reported_and_skipped_whole(session: Session) -> None:
    text = HEADER + "\n".join([
        "OK-1,Good Mug,Fine.,ceramics,20.00,EUR,5,type:mug,/m.svg,",
        "BAD-1,Bad Price,x,ceramics,twenty,EUR,5,type:mug,/m.svg,",
        "BAD-2,Bad Stock,x,ceramics,20.00,EUR,-3,type:mug,/m.svg,",
        "BAD-3,Bad Attrs,x,ceramics,20.00,EUR,1,colour blue,/m.svg,",
        "BAD-4,Bad Currency,x,ceramics,20.00,euro,1,type:mug,/m.svg,",
        "OK-1,Duplicate,x,ceramics,20.00,EUR,1,type:mug,/m.svg,",
        ",No Sku,x,ceramics,20.00,EUR,1,type:mug,/m.svg,",
        "USD-1,Dollar Mug,x,ceramics,20.00,USD,1,type:mug,/m.svg,",
    ]) + "\n"
    report = import_catalog(session=session, text=text)
    session.commit()
    assert report.rows == 8 and report.created == 1
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "price"), (4, "stock"), (5, "attributes"), (6, "currency"), (7, "sku"), (8, "sku"),
        (9, "currency"),
    ]
    assert report.errors[-1].reason == "the shop sells in EUR, not USD"
    assert "duplicate of row 2" in report.errors[4].reason
    assert session.scalars(select(Variant.sku)).all() == ["OK-1"]


def test_a_file_without_the_required_columns_is_refused() -> None:
    with pytest.raises(CatalogFileError, match="price"):
        parse_catalog("sku,name,description,category,currency,stock,attributes,image_url\n")
