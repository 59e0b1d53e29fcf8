"""Key revocation and rotation (issue #13 item 1, #15 finding 6), in-memory transport.

A revocation is signed by the nation's CA, travels with its next batch and reaches every
partner; reports the revoked key signed after the revocation time are refused and audited,
earlier ones stay verifiable. `pki rotate` revokes the key it replaces, so the old key no
longer signs accepted reports for up to a year.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import msgspec
import pytest

from tests.conftest import Network
from tests.federation.hostile import push_from_jpn
from trilink.errors import ProvenanceError
from trilink.model.ids import utc_timestamp
from trilink.model.report import build_envelope
from trilink.provenance.pki import load_signing_key
from trilink.provenance.signing import Signer
from trilink.provenance.trust import issue_revocation

SHARED = "SECRET//REL TO USA, JPN, KOR"


def signed_later(network: Network, key_dir: str, when: dt.datetime, title: str) -> Any:
    """A JPN report signed with the key in JPN's directory (``key_dir``: signing or an
    archived one), created at ``when``: what a thief of that key could produce."""
    key, certified = load_signing_key(network.root / "JPN", at=when)
    if key_dir != "current":
        path = network.root / "JPN" / key_dir
        key, certified = load_signing_key_pair(path)
    label = network["JPN"].parse_label(SHARED)
    env = build_envelope(
        origin="JPN",
        origin_seq=int(when.timestamp() * 1e6) + 7,
        kind="note",
        label=label,
        payload={"title": title},
        created=utc_timestamp(when),
    )
    return Signer(key, certified).sign([env])[0]


def load_signing_key_pair(crt: Any) -> Any:
    from cryptography.hazmat.primitives import serialization

    from trilink.provenance.pki import load_certified_key

    key = serialization.load_pem_private_key(crt.with_suffix(".key").read_bytes(), None)
    return key, load_certified_key(crt.read_bytes())


def push_items(network: Network, reports: list[Any]) -> Any:
    return push_from_jpn(
        network, [(r.signed, msgspec.json.encode(r.signature).decode()) for r in reports]
    )


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_revocation_replicates_and_refuses_later_reports_only(network: Network) -> None:
    jpn, usa = network["JPN"], network["USA"]
    before = jpn.publish("note", SHARED, {"title": "signed before the revocation"})
    network.deliver("JPN", "USA")
    key_id = jpn.signer.key_id
    revoked_at = dt.datetime.now(dt.UTC)
    issue_revocation(network.root / "JPN", key_id, at=revoked_at, reason="compromised")
    jpn = network.reopen("JPN")
    # JPN's own node refuses to sign with the revoked key, saying what to do
    with pytest.raises(ProvenanceError, match="pki rotate"):
        jpn.publish("note", SHARED, {"title": "x"})
    # the revocation travels with JPN's next batch, even one with no report in it
    network.deliver("JPN", "USA")
    assert [n for n, _ in usa.store.revocations()] == ["JPN"]
    rows = [r.entry for r in usa.store.audit_rows() if r.entry.outcome == "revoked"]
    assert len(rows) == 1 and key_id in rows[0].reason
    # a report the revoked key signed after the revocation time: refused, audited
    later = signed_later(network, "current", revoked_at + dt.timedelta(minutes=5), "stolen")
    result = push_items(network, [later])
    assert (result.accepted, result.rejected) == (0, 1)
    assert "revoked" in result.reasons[0]
    # the earlier report still verifies, at USA and after USA restarts
    usa.verifier.verify(before.signed, before.envelope, before.signature)
    usa = network.reopen("USA")
    usa.verifier.verify(before.signed, before.envelope, before.signature)
    with pytest.raises(ProvenanceError, match="revoked"):
        usa.verifier.verify(later.signed, later.envelope, later.signature)


def test_forged_revocation_is_refused_and_changes_nothing(network: Network) -> None:
    """KOR cannot revoke JPN's key: a statement signed by KOR's CA naming JPN is refused."""
    jpn, usa = network["JPN"], network["USA"]
    report = jpn.publish("note", SHARED, {"title": "still good"})
    network.deliver("JPN", "USA")
    kor_dir = network.root / "KOR"
    forged_path = issue_revocation(kor_dir, network["KOR"].signer.key_id)
    forged = forged_path.read_text().replace('"nation":"KOR"', '"nation":"JPN"')
    forged_path.unlink()
    push_from_jpn(network, [], revocations=[forged, "not a statement"])
    assert usa.store.revocations() == []
    refused = [
        r.entry
        for r in usa.store.audit_rows()
        if r.entry.event == "key" and r.entry.outcome == "rejected"
    ]
    assert len(refused) == 1 and "revocation refused" in refused[0].reason
    usa.verifier.verify(report.signed, report.envelope, report.signature)
    later = jpn.publish("note", SHARED, {"title": "and later too"})
    assert network.deliver("JPN", "USA").accepted == 1
    assert usa.store.latest_version(later.envelope.id) is not None


def test_rotate_revokes_the_old_key_from_now(network: Network) -> None:
    jpn, usa = network["JPN"], network["USA"]
    old = jpn.publish("note", SHARED, {"title": "old key"})
    old_key = jpn.signer.key_id
    network.deliver("JPN", "USA")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trilink",
            "pki",
            "rotate",
            "--dir",
            str(network.root),
            "--nation",
            "JPN",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"key {old_key} is revoked from now" in done.stdout
    # the running node takes the new key up by itself
    jpn.keys._checked_at = 0.0
    new = jpn.publish("note", SHARED, {"title": "new key"})
    assert new.signature.key_id != old_key
    assert network.deliver("JPN", "USA").accepted == 1
    usa.verifier.verify(old.signed, old.envelope, old.signature)
    # the old key signing after the rotation: refused (it was accepted for a year before)
    archived = f"signing-{old_key}.crt"
    later = signed_later(network, archived, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), "x")
    result = push_items(network, [later])
    assert result.rejected == 1 and "revoked" in result.reasons[0]
