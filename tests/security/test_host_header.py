"""Addresses the portal hands out are its own (``base_url``), never whatever ``Host`` header a
request came with: the public schema is kept by caches for a day, and a download names it."""

from __future__ import annotations

import re

import orjson
from flask import Flask, session

from portal.auth import services
from portal.export.schema import FORMAT_VERSION
from portal.extensions import db

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BASE = "http://127.0.0.1:5000"  # the base_url setting's default
FOREIGN = {"Host": "evil.example"}
FOREIGN_URL = "http://evil.example"


def test_the_schema_names_the_portal_s_own_address_whatever_the_host_header(app: Flask) -> None:
    r = app.test_client().get(f"/export/schema/v{FORMAT_VERSION}.json", headers=FOREIGN)
    assert r.status_code == 200
    assert "public" in r.headers["Cache-Control"]
    schema = orjson.loads(r.get_data())
    assert schema["$id"] == f"{BASE}/export/schema/v{FORMAT_VERSION}.json"
    assert "evil.example" not in r.get_data(as_text=True)


def test_a_download_names_the_schema_at_the_portal_s_own_address(app: Flask) -> None:
    client = app.test_client()
    with app.test_request_context():
        services.sign_in_with_verified_email("klant@example.nl", "test")
        db.session.commit()
        data = dict(session)
    with client.session_transaction(base_url=FOREIGN_URL) as stored:
        stored.update(data)
    page = client.get("/export/", base_url=FOREIGN_URL).get_data(as_text=True)
    token = CSRF_RE.search(page)
    assert token
    r = client.post("/export/json", data={"csrf_token": token.group(1)}, base_url=FOREIGN_URL)
    assert r.status_code == 200
    document = orjson.loads(r.get_data())
    assert document["schema"] == f"{BASE}/export/schema/v{FORMAT_VERSION}.json"
    assert "evil.example" not in r.get_data(as_text=True)
