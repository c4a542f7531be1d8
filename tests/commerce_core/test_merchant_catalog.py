"""The merchant's catalog API: CRUD, CSV import/export, customisation rules, quotes."""

import csv
import io
from pathlib import Path

from tests.commerce_core.helpers import SERVICE, api, merchant_headers, product_id

NEW_PRODUCT = {
    "name": "Raku Tea Bowl", "description": "Fired in the open, crackled glaze.",
    "category": "Ceramics", "attributes": {"type": "bowl", "colour": "black",
                                           "material": "ceramic"},
    "variants": [{"sku": "cer-raku-1", "price": "58.00", "stock": 3}],
}


def test_product_crud_with_variants(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        merchant = merchant_headers(demo_catalog)
        created = client.post("/api/merchant/products", headers=merchant, json=NEW_PRODUCT)
        assert created.status_code == 201, created.text
        product = created.json()
        assert (product["category"], product["variants"][0]["sku"]) == ("ceramics", "CER-RAKU-1")
        pid = product["id"]
        again = client.post("/api/merchant/products", headers=merchant, json=NEW_PRODUCT)
        assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate"

        patched = client.patch(f"/api/merchant/products/{pid}", headers=merchant,
                               json={"name": "Raku Chawan"}).json()
        assert patched["name"] == "Raku Chawan"
        with_variant = client.post(f"/api/merchant/products/{pid}/variants", headers=merchant,
                                   json={"sku": "CER-RAKU-2", "price": "64.50", "stock": 1,
                                         "attributes": {"size": "large"}}).json()
        assert [v["sku"] for v in with_variant["variants"]] == ["CER-RAKU-1", "CER-RAKU-2"]
        second = with_variant["variants"][1]["id"]
        changed = client.patch(f"/api/merchant/variants/{second}", headers=merchant,
                               json={"price": "60.00", "stock": 4}).json()
        assert changed["variants"][1]["price"] == "60.00"
        assert client.delete(f"/api/merchant/variants/{second}",
                             headers=merchant).status_code == 204
        first = with_variant["variants"][0]["id"]
        last = client.delete(f"/api/merchant/variants/{first}", headers=merchant)
        assert last.status_code == 409 and last.json()["error"]["code"] == "last_variant"
        assert client.delete(f"/api/merchant/products/{pid}", headers=merchant).status_code == 204
        assert client.get(f"/api/products/{pid}", headers=SERVICE).status_code == 404
        # the service token is not a merchant key
        refused = client.post("/api/merchant/products", headers=SERVICE, json=NEW_PRODUCT)
        assert refused.status_code == 401


def test_invalid_product_input_is_refused(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        merchant = merchant_headers(demo_catalog)
        for change in ({"variants": []}, {"variants": [{"sku": "X", "price": "-1",
                                                        "stock": 1}]},
                       {"variants": [{"sku": "X", "price": "1.234", "stock": 1}]},
                       {"attributes": {"Bad Key!": "x"}}, {"name": ""}):
            response = client.post("/api/merchant/products", headers=merchant,
                                   json={**NEW_PRODUCT, **change})
            assert response.status_code == 422, change
            assert response.json()["error"]["code"] == "invalid_request"


def test_csv_export_then_import_round_trips_and_reports_bad_rows(demo_catalog,
                                                                  tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        merchant = merchant_headers(demo_catalog)
        exported = client.get("/api/merchant/catalog/export", headers=merchant)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) >= 300 and rows[0]["sku"] == "CER-MUG-001"
        report = client.post("/api/merchant/catalog/import", headers=merchant,
                             content=exported.content).json()
        assert (report["created"], report["updated"], report["errors"]) == (0, 0, [])
        assert report["unchanged"] == len(rows)

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerow({**rows[0], "price": "36.00"})
        writer.writerow({**rows[1], "sku": "NEW-1", "stock": "many"})
        report = client.post("/api/merchant/catalog/import", headers=merchant,
                             content=out.getvalue().encode()).json()
        assert report["updated"] == 1
        assert report["errors"] == [{"row": 3, "column": "stock",
                                     "reason": "'many' is not a whole number"}]
        mug = product_id(demo_catalog, "CER-MUG-001")
        assert client.get(f"/api/products/{mug}", headers=SERVICE).json()["price"] == "36.00"
        broken = client.post("/api/merchant/catalog/import", headers=merchant,
                             content=b"\xff\xfe not utf-8")
        assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_file"


def test_rules_are_editable_and_drive_the_quote(demo_catalog, tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        merchant = merchant_headers(demo_catalog)
        rules = client.get("/api/merchant/rules/category/ceramics", headers=merchant).json()
        assert rules["scope"] == {"category": "ceramics"}
        rules["options"].append({"name": "rush", "label": "Rush making", "kind": "boolean",
                                 "price_delta_percent": "25", "extra_days": 0})
        saved = client.put("/api/merchant/rules/category/ceramics", headers=merchant,
                           json=rules)
        assert saved.status_code == 200
        bad = client.put("/api/merchant/rules/category/ceramics", headers=merchant,
                         json={"options": [{"name": "x", "kind": "colourful"}]})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_rules"
        mug = product_id(demo_catalog, "CER-MUG-001")
        product = client.get(f"/api/products/{mug}", headers=SERVICE).json()
        assert "rush" in {o["name"] for o in product["customization"]}
        quote = client.post(f"/api/products/{mug}/quote", headers=SERVICE,
                            json={"options": {"rush": True}}).json()
        assert quote["unit_price"] == "40.00"  # 32.00 + 25 %
        refused = client.post(f"/api/products/{mug}/quote", headers=SERVICE,
                              json={"options": {"rush": True, "glitter": "yes"}})
        assert refused.status_code == 422
        assert [v["code"] for v in refused.json()["error"]["details"]] == ["unknown_option"]


def test_csv_export_escapes_formulas_and_the_import_reads_them_back(demo_catalog,
                                                                   tmp_path: Path) -> None:
    with api(demo_catalog, tmp_path) as client:
        merchant = merchant_headers(demo_catalog)
        # given products whose words a spreadsheet would run as formulas
        names = {"FX-1": '=HYPERLINK("http://evil.example","Click")', "FX-2": "-5% clay",
                 "FX-3": "@SUM(A1:A9)", "FX-4": "'=already quoted", "FX-5": "'Tis the season"}
        for sku, name in names.items():
            created = client.post("/api/merchant/products", headers=merchant, json={
                **NEW_PRODUCT, "name": name, "description": "+cmd|' /C calc'!A0",
                "handle": sku.lower(), "variants": [{"sku": sku, "price": "10.00",
                                                     "stock": 1}]})
            assert created.status_code == 201, created.text
        # and one whose handle comes from its name, not from its SKU
        bowl = client.post("/api/merchant/products", headers=merchant, json=NEW_PRODUCT).json()
        # when the catalog is exported
        exported = client.get("/api/merchant/catalog/export", headers=merchant)
        rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(exported.text))}
        # then no cell starts with = + - @, and apostrophe-led cells keep their meaning
        assert {sku: rows[sku]["name"] for sku in names} == {
            "FX-1": '\'=HYPERLINK("http://evil.example","Click")', "FX-2": "'-5% clay",
            "FX-3": "'@SUM(A1:A9)", "FX-4": "''=already quoted", "FX-5": "'Tis the season"}
        assert rows["FX-1"]["description"] == "'+cmd|' /C calc'!A0"
        cells = [cell for row in rows.values() for cell in row.values()]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        # when it is imported again, every value is exactly what it was
        report = client.post("/api/merchant/catalog/import", headers=merchant,
                             content=exported.content).json()
        assert (report["created"], report["errors"]) == (0, [])
        assert product_id(demo_catalog, "CER-RAKU-1") == bowl["id"]
        assert client.get(f"/api/products/{bowl['id']}", headers=SERVICE).json()["handle"] == \
            "raku-tea-bowl"
        for sku, name in names.items():
            product = client.get(f"/api/products/{product_id(demo_catalog, sku)}",
                                 headers=SERVICE).json()
            assert (product["name"], product["description"]) == (name, "+cmd|' /C calc'!A0")
