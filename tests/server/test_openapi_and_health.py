"""Operational endpoints: ``/healthz``, ``/schema``, and errors outside the API routes."""

from __future__ import annotations

from typing import Any

from rapport.client_py.schema import SIGNALS
from rapport.server.storage.migrate import head_revision


def test_health_reports_ok_with_the_database(api: Any) -> None:
    reply = api.client.get("/healthz")
    assert reply.status_code == 200
    version = int(head_revision())  # the Alembic revision id "0003" as a number
    assert reply.json() == {"status": "ok", "database": "sqlite", "schema_version": version}


def test_schema_serves_the_openapi_document(api: Any) -> None:
    reply = api.client.get("/schema")
    assert reply.status_code == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    assert {"/v1/collect", "/v1/hints/{visitor}", "/healthz"} <= set(document["paths"])


def test_openapi_documents_the_collect_body_from_the_shared_schema(api: Any) -> None:
    document = api.client.get("/schema/openapi.json").json()
    body = document["paths"]["/v1/collect"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CollectBatch"
    }
    assert "text/plain" in body["content"]
    schemas = document["components"]["schemas"]
    assert schemas["CollectBatch"]["additionalProperties"] is False
    assert len(schemas["CollectBatch"]["properties"]["signals"]["items"]["anyOf"]) == len(SIGNALS)
    assert (
        schemas["ActionSignal"]["properties"]["name"]["pattern"]
        == SIGNALS["action"].fields["name"].pattern
    )  # type: ignore[union-attr]


def test_openapi_documents_the_error_shape(api: Any) -> None:
    document = api.client.get("/schema/openapi.json").json()
    responses = document["paths"]["/v1/collect"]["post"]["responses"]
    assert {"200", "400", "403", "404", "413", "422"} <= set(responses)


def test_unknown_route_gets_the_error_shape(api: Any) -> None:
    reply = api.client.get("/v2/nothing")
    assert reply.status_code == 404
    assert set(reply.json()) == {"error", "field"}


def test_wrong_method_gets_405_with_the_error_shape(api: Any) -> None:
    reply = api.client.put("/v1/collect", content=b"{}")
    assert reply.status_code == 405
    assert set(reply.json()) == {"error", "field"}


def test_health_is_503_when_storage_is_down(api: Any) -> None:
    api.run(api.storage.close)
    reply = api.client.get("/healthz")
    assert reply.status_code == 503
    assert reply.json()["status"] == "error"
