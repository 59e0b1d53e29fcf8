"""yente-compatible ``POST /match/{dataset}`` on the node API: the request yente's clients
send, the response shape they read (checked with pydantic models written from yente's
``yente/data/common.py``), the node's tokens (ApiKey or Bearer) and audit, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from tests.conftest import Network
from tests.web.cop_helpers import TestClient

from trilink.api import create_api_app
from trilink.store.tokens import TokenRepository


class EntityExample(BaseModel):
    id: str | None = None
    schema_: str = Field(alias="schema")
    properties: dict[str, str | list[Any]]


class ScoredEntity(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    caption: str
    schema_: str = Field(alias="schema")
    properties: dict[str, list[Any]]
    datasets: list[str]
    referents: list[str]
    target: bool
    score: float
    features: dict[str, float]
    match: bool


class Total(BaseModel):
    value: int
    relation: str


class EntityMatches(BaseModel):
    status: int
    results: list[ScoredEntity]
    total: Total
    query: EntityExample


class FeatureDoc(BaseModel):
    description: str
    coefficient: float
    url: str


class EntityMatchResponse(BaseModel):
    responses: dict[str, EntityMatches]
    matcher: dict[str, FeatureDoc]
    limit: int


QUERIES = {
    "queries": {
        "ryonbong": {"schema": "Company",
                     "properties": {"name": ["Korea Ryonbong General Corp."],
                                    "jurisdiction": ["kp"]}},
        "katakana": {"schema": "Person", "properties": {"name": ["ユン・ホジン"]}},
        "omm": {"schema": "Company", "properties": {"name": ["Blue Harbour"],
                                                    "imoNumber": ["1790183"]}},
        "nobody": {"schema": "Person", "properties": {"name": ["Hanako Yamada-Smith"],
                                                      "nationality": ["jp"]}},
        "ship": {"schema": "Vessel", "properties": {"name": "CHON MA SAN"}},
    }
}  # fmt: skip


@pytest.fixture()
def node_api(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, str], Network]]:
    monkeypatch.setenv("TRILINK_SANCTIONS_DIR", str(tmp_path / "lists"))  # bundled lists
    node = network["JPN"]
    repo = TokenRepository(node.store)
    tokens = {"reader": repo.create("screening-tool", "reader")}
    with TestClient(create_api_app(node)) as client:
        yield client, tokens, network


def test_match_answers_yente_requests_in_yentes_shape(
    node_api: tuple[TestClient, dict[str, str], Network],
) -> None:
    client, tokens, network = node_api
    res = client.post("/match/default", json=QUERIES,
                      headers={"Authorization": f"ApiKey {tokens['reader']}"})  # fmt: skip
    assert res.status_code == 200, res.text
    doc = EntityMatchResponse.model_validate(res.json())
    assert set(doc.responses) == set(QUERIES["queries"])
    top = {k: (r.results[0] if r.results else None) for k, r in doc.responses.items()}
    ryonbong = top["ryonbong"]
    assert ryonbong is not None and ryonbong.match and ryonbong.score >= 0.97
    assert ryonbong.schema_ == "Organization" and "Ryonbong" in ryonbong.caption
    assert ryonbong.features and all(0 <= v <= 1.01 for v in ryonbong.features.values())
    extra = ryonbong.model_extra or {}
    assert extra["explanations"] and extra["trilink"]["list_sha256"]
    katakana = top["katakana"]
    assert katakana is not None and katakana.match
    assert katakana.schema_ == "Person" and katakana.datasets == ["jp_mof"]  # as written
    # and the Latin spelling of other lists, through the romanisation
    assert any("name-romanised" in r.features and r.match and r.datasets != ["jp_mof"]
               for r in doc.responses["katakana"].results)  # fmt: skip
    omm = top["omm"]
    assert omm is not None and omm.match and "identifier-exact" in omm.features
    assert "IMO1790183" in omm.properties["imoNumber"]  # a company IMO, on an organisation
    assert not any(r.match for r in doc.responses["nobody"].results)
    ship = top["ship"]
    assert ship is not None and ship.schema_ == "Vessel" and ship.match
    assert doc.responses["ship"].query.properties["name"] == ["CHON MA SAN"]
    # one audit row per call: who, which dataset, how many matches
    rows = [r.entry for r in network["JPN"].store.audit_rows() if r.entry.event == "match"]
    assert len(rows) == 1 and rows[0].actor == "api:screening-tool"
    assert rows[0].reason.startswith("/match/default: 5 queries, 4 matched (")


def test_match_one_list_catalog_and_refusals(
    node_api: tuple[TestClient, dict[str, str], Network],
) -> None:
    client, tokens, _network = node_api
    bearer = {"Authorization": f"Bearer {tokens['reader']}"}
    catalog = client.get("/catalog", headers=bearer).json()
    names = {d["name"] for d in catalog["datasets"]}
    assert {"default", "sanctions", "jp_meti_eul", "un_consolidated"} <= names
    one = {"queries": {"q": {"schema": "Company",
                             "properties": {"name": ["Fidar System Pooyan"]}}}}  # fmt: skip
    res = client.post("/match/jp_meti_eul", json=one, headers=bearer)
    assert res.status_code == 200, res.text
    results = res.json()["responses"]["q"]["results"]
    assert results and all(r["datasets"] == ["jp_meti_eul"] for r in results)
    res = client.post("/match/un_1718", json=one, headers=bearer)  # a vessel list
    assert not any(r["match"] for r in res.json()["responses"]["q"]["results"])
    # no token, unknown dataset, bad schema, oversized batch: clear answers
    assert client.post("/match/default", json=one).status_code == 401
    res = client.post("/match/nowhere", json=one, headers=bearer)
    assert res.status_code == 404 and "jp_meti_eul" in res.json()["detail"]
    bad = {"queries": {"q": {"schema": "Airplane", "properties": {"name": ["X"]}}}}
    res = client.post("/match/default", json=bad, headers=bearer)
    assert res.status_code == 400 and "queries.q.schema" in res.json()["detail"]
    many = {"queries": {str(i): one["queries"]["q"] for i in range(101)}}
    res = client.post("/match/default", json=many, headers=bearer)
    assert res.status_code == 400 and "Too many queries" in res.json()["detail"]
    res = client.post("/match/default", content=b"{not json", headers=bearer)
    assert res.status_code == 400
    res = client.post("/match/default?algorithm=logic-v9", json=one, headers=bearer)
    assert res.status_code == 400 and "trilink-rules" in res.json()["detail"]


_EXAMPLE = st.fixed_dictionaries({
    "schema": st.sampled_from(["Person", "Company", "Vessel", "Thing", "X"]),
    "properties": st.dictionaries(st.sampled_from(["name", "country", "idNumber", "nope"]),
                                  st.lists(st.text(max_size=30), max_size=3), max_size=3),
})  # fmt: skip
_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])  # fmt: skip
@given(
    body=_ANY_JSON
    | st.fixed_dictionaries({"queries": st.dictionaries(st.text(max_size=5), _EXAMPLE,
                                                        max_size=3)})
)  # fmt: skip
def test_fuzzed_match_bodies_get_an_answer_or_a_400(
    node_api: tuple[TestClient, dict[str, str], Network], body: Any
) -> None:
    client, tokens, _network = node_api
    res = client.post("/match/default", json=body,
                      headers={"Authorization": f"ApiKey {tokens['reader']}"})  # fmt: skip
    assert res.status_code in (200, 400), res.text
    if res.status_code == 200:
        EntityMatchResponse.model_validate(res.json())
