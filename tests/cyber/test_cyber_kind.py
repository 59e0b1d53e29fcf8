"""The ``cyber.stix`` kind as the node, the COP and the exports read it (KindSpec)."""

from __future__ import annotations

import json

from tests.cyber.helpers_cyber import BUNDLE
from trilink.cyber.plan import payload_of
from trilink.cyber.stixio import parse_bundle
from trilink.model import kinds
from trilink.model.payloads.cyber import StixObjectPayload


def test_titles_properties_and_lifecycle() -> None:
    spec = kinds.spec_for("cyber.stix")
    assert spec.payload is StixObjectPayload
    objs = {p.id: p for p in parse_bundle(BUNDLE.read_bytes(), "b").objects}
    ind = payload_of(objs["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"], source="b")
    kinds.validate_payload("cyber.stix", json.loads(json.dumps(_b(ind))))
    assert spec.title(ind) == "indicator: AppleJeus C2 address"
    assert spec.track(ind) == ind.stix_id and not spec.ended(ind)
    props = spec.properties(ind)
    assert props["pattern"] == "[ipv4-addr:value = '198.51.100.23']"
    sighting = payload_of(objs["sighting--5e7a9c1e-3b5d-4f7a-9c1e-3b5d7f9a1c3e"], source="b")
    assert spec.title(sighting) == (
        "sighting: of indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f x4"
    )
    assert spec.properties(sighting)["sightings"] == 4
    revoked = payload_of(objs[ind.stix_id], source="b")
    revoked = StixObjectPayload(**{**_b(revoked), "revoked": True})
    assert spec.ended(revoked) and spec.status(revoked) == "revoked"
    assert set(spec.panel) <= set(StixObjectPayload.__struct_fields__)


def _b(payload: StixObjectPayload) -> dict[str, object]:
    import msgspec

    out: dict[str, object] = msgspec.to_builtins(payload)
    return out
