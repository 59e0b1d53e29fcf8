"""Batch signatures, the trust store (key validity, nation, CA) and key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from trilink.errors import ConfigError, ProvenanceError
from trilink.model import build_envelope, parse_label
from trilink.model.ids import utc_timestamp
from trilink.model.report import Envelope, Report, Signature
from trilink.provenance.merkle import leaf_hash, root_from_proof
from trilink.provenance.pki import (
    CertifiedKey,
    create_ca,
    init_nation,
    issue_signing_key,
    key_id_of,
    load_certified_key,
    load_signing_key,
    verify_certified_key,
)
from trilink.provenance.signing import ALG, Signer, Verifier, batch_message

LABEL = parse_label("SECRET//REL TO USA, JPN, KOR")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    for nation in ("USA", "JPN", "KOR"):
        created = init_nation(root / nation, nation)
        assert len(created) == 3  # the nation's own CA, TLS and signing certificates
        assert init_nation(root / nation, nation) == []  # idempotent
    return root


def signer_of(root: Path, nation: str) -> Signer:
    return Signer(*load_signing_key(root / nation))


def verifier_of(root: Path, *nations: str) -> Verifier:
    return Verifier(load_signing_key(root / n)[1] for n in nations)


def envelopes(
    origin: str, count: int, *, start: int = 1, created: str | None = None
) -> list[Envelope]:
    return [
        build_envelope(
            origin=origin,
            origin_seq=start + i,
            kind="note",
            label=LABEL,
            payload={"title": f"report {i}"},
            created=created,
        )
        for i in range(count)
    ]


def check(verifier: Verifier, report: Report) -> CertifiedKey:
    return verifier.verify(report.signed, report.envelope, report.signature)


# -- signing and verifying ---------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 17])
def test_every_report_of_a_batch_verifies_on_its_own(pki: Path, count: int) -> None:
    reports = signer_of(pki, "JPN").sign(envelopes("JPN", count))
    assert [r.signature.index for r in reports] == list(range(count))
    assert {r.signature.root for r in reports} == {reports[0].signature.root}
    for report in reports:
        # A fresh verifier each time: no help from the verified-root cache.
        key = check(verifier_of(pki, "JPN", "USA"), report)
        assert key.nation == "JPN"
        assert report.signature.alg == ALG


def test_empty_batch_signs_nothing(pki: Path) -> None:
    assert signer_of(pki, "JPN").sign([]) == []


def test_signer_signs_only_its_own_nation(pki: Path) -> None:
    with pytest.raises(ProvenanceError, match="only for JPN"):
        signer_of(pki, "JPN").sign(envelopes("KOR", 2))
    mixed = envelopes("JPN", 1) + envelopes("KOR", 1, start=5)
    with pytest.raises(ProvenanceError):
        signer_of(pki, "JPN").sign(mixed)


def _resigned(report: Report, key: ed25519.Ed25519PrivateKey, key_id: str) -> Report:
    """The same report with its batch signed by ``key`` under the name ``key_id``."""
    sig = report.signature
    message = batch_message(report.envelope.origin, key_id, sig.size, bytes.fromhex(sig.root))
    forged = msgspec.structs.replace(
        sig, key_id=key_id, sig=base64.b64encode(key.sign(message)).decode()
    )
    return msgspec.structs.replace(report, signature=forged)


def test_forged_with_another_key_under_the_origin_key_id(pki: Path) -> None:
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 3))[1]
    jpn_key_id = report.signature.key_id
    forged = _resigned(report, ed25519.Ed25519PrivateKey.generate(), jpn_key_id)
    with pytest.raises(ProvenanceError, match="forged"):
        check(verifier_of(pki, "JPN"), forged)


def test_forged_with_another_nations_key(pki: Path) -> None:
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 1))[0]
    kor_key, kor_cert = load_signing_key(pki / "KOR")
    forged = _resigned(report, kor_key, kor_cert.key_id)
    with pytest.raises(ProvenanceError, match="belongs to KOR, not to origin JPN"):
        check(verifier_of(pki, "JPN", "KOR"), forged)


def _with_byte_changed(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"report 1", b"report 7"), (b'"origin_seq":2', b'"origin_seq":9'), (b"SECRET", b"SECRES")],
)
def test_tampered_envelope_bytes_are_detected(pki: Path, old: bytes, new: bytes) -> None:
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 4))[1]
    verifier = verifier_of(pki, "JPN")
    check(verifier, report)  # the untouched report is fine, and its root is now cached
    tampered = _with_byte_changed(report.signed, old, new)
    with pytest.raises(ProvenanceError, match="altered"):
        verifier.verify(tampered, report.envelope, report.signature)


# -- a whole batch proven at once ---------------------------------------------------------


def _pairs(reports: list[Report]) -> list[tuple[bytes, Signature]]:
    return [(r.signed, r.signature) for r in reports]


def test_a_whole_batch_is_proven_by_rebuilding_its_tree(pki: Path) -> None:
    first = signer_of(pki, "JPN").sign(envelopes("JPN", 5))
    second = signer_of(pki, "JPN").sign(envelopes("JPN", 3, start=6))
    verifier = verifier_of(pki, "JPN")
    # The first batch whole, then two of the second's three leaves: those two are left to
    # their own proof checks.
    items = _pairs(first) + _pairs(second[:2])
    assert verifier.proven_leaves(items) == set(range(5))
    for position, report in enumerate(first + second[:2]):
        verifier.verify(report.signed, report.envelope, report.signature, proven=position < 5)


def test_one_altered_leaf_leaves_the_whole_batch_to_proofs_one_by_one(pki: Path) -> None:
    reports = signer_of(pki, "JPN").sign(envelopes("JPN", 4))
    items = _pairs(reports)
    items[2] = (_with_byte_changed(reports[2].signed, b"report 2", b"report 9"), items[2][1])
    verifier = verifier_of(pki, "JPN")
    assert verifier.proven_leaves(items) == set()
    with pytest.raises(ProvenanceError, match="altered"):
        verifier.verify(items[2][0], reports[2].envelope, reports[2].signature)


def test_a_wrong_proof_is_not_proven_even_when_the_tree_is_right(pki: Path) -> None:
    reports = signer_of(pki, "JPN").sign(envelopes("JPN", 4))
    items = _pairs(reports)
    wrong = msgspec.structs.replace(reports[1].signature, proof=reports[2].signature.proof)
    items[1] = (reports[1].signed, wrong)
    verifier = verifier_of(pki, "JPN")
    assert verifier.proven_leaves(items) == {0, 2, 3}
    with pytest.raises(ProvenanceError, match="altered"):
        verifier.verify(reports[1].signed, reports[1].envelope, wrong)


def test_a_leaf_given_twice_proves_nothing(pki: Path) -> None:
    reports = signer_of(pki, "JPN").sign(envelopes("JPN", 3))
    items = _pairs(reports) + _pairs(reports[:1])
    assert verifier_of(pki, "JPN").proven_leaves(items) == set()


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("index", 0, "altered"),
        ("root", "00" * 32, "altered"),
        ("root", "zz", "not hex"),
        ("proof", ["ab"], "wrong length"),
        ("sig", "!!!not base64!!!", "forged"),
        ("sig", "", "forged"),  # unsigned
        ("alg", "rsa-sha1", "unsupported signature algorithm"),
        ("key_id", "0" * 32, "unknown signing key"),
    ],
)
def test_altered_signature_fields_are_refused(
    pki: Path, field: str, value: Any, match: str
) -> None:
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 4))[1]
    bad = msgspec.structs.replace(report.signature, **{field: value})
    with pytest.raises(ProvenanceError, match=match):
        verifier_of(pki, "JPN").verify(report.signed, report.envelope, bad)


def test_claimed_batch_size_is_covered_by_the_signature(pki: Path) -> None:
    """Leaf 0 of a 3-leaf tree has the same proof as in a 4-leaf tree: only the signature
    over (origin, key, size, root) stops a lie about the size."""
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 3))[0]
    verifier = verifier_of(pki, "JPN")
    check(verifier, report)
    bigger = msgspec.structs.replace(report.signature, size=4)
    with pytest.raises(ProvenanceError, match="forged"):
        verifier.verify(report.signed, report.envelope, bigger)


def test_absurd_batch_size_is_a_provenance_error(pki: Path) -> None:
    """Anyone can build a proof for a 2**70-leaf "batch" (70 made-up hashes and the root they
    imply); the verifier must refuse it as a ProvenanceError, not crash."""
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 1))[0]
    size, proof = 2**70, [b"\x11" * 32] * 70
    implied = root_from_proof(leaf_hash(report.signed), 0, size, proof)
    assert implied is not None
    bad = msgspec.structs.replace(
        report.signature, size=size, index=0, proof=[p.hex() for p in proof], root=implied.hex()
    )
    with pytest.raises(ProvenanceError):
        verifier_of(pki, "JPN").verify(report.signed, report.envelope, bad)


def test_self_made_unsigned_report_is_refused(pki: Path) -> None:
    env = envelopes("JPN", 1)[0]
    from trilink.model.report import envelope_bytes

    data = envelope_bytes(env)
    key_id = load_signing_key(pki / "JPN")[1].key_id
    sig = Signature(
        alg=ALG, key_id=key_id, root=leaf_hash(data).hex(), size=1, index=0, proof=[], sig=""
    )
    with pytest.raises(ProvenanceError, match="forged"):
        verifier_of(pki, "JPN").verify(data, env, sig)


def test_unknown_key(pki: Path) -> None:
    report = signer_of(pki, "JPN").sign(envelopes("JPN", 1))[0]
    with pytest.raises(ProvenanceError, match="unknown signing key"):
        check(verifier_of(pki, "USA", "KOR"), report)


# -- key validity, the CA, rotation ------------------------------------------------------


def _fresh(tmp_path: Path) -> Path:
    root = tmp_path / "dep"
    for nation in ("USA", "JPN"):
        init_nation(root / nation, nation)
    return root


def test_report_created_outside_key_validity_is_refused(tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    signer = signer_of(root, "JPN")
    key = signer.certified
    before = key.not_before - dt.timedelta(days=1)
    after = key.not_after + dt.timedelta(seconds=1)
    for moment in (before, after):
        env = envelopes("JPN", 1, created=utc_timestamp(moment))[0]
        with pytest.raises(ProvenanceError, match="outside key"):
            check(Verifier([key]), signer.sign([env])[0])
    inside = envelopes("JPN", 1, created=utc_timestamp(key.not_before))[0]
    check(Verifier([key]), signer.sign([inside])[0])


def test_key_not_yet_valid_cannot_sign_for_now(tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    issue_signing_key(root / "JPN", "JPN", not_before=later)
    signer = signer_of(root, "JPN")
    assert signer.certified.not_before == later.replace(microsecond=0)
    with pytest.raises(ProvenanceError, match="outside key"):
        check(Verifier([signer.certified]), signer.sign(envelopes("JPN", 1))[0])


def test_rotation_new_key_signs_and_old_reports_still_verify(tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    old_signer = signer_of(root, "JPN")
    old_reports = old_signer.sign(envelopes("JPN", 3))
    new_id = issue_signing_key(root / "JPN", "JPN")
    assert new_id != old_signer.key_id
    assert (root / "JPN" / f"signing-{old_signer.key_id}.crt").exists()
    assert (root / "JPN" / f"signing-{old_signer.key_id}.key").exists()
    new_signer = signer_of(root, "JPN")
    assert new_signer.key_id == new_id
    new_reports = new_signer.sign(envelopes("JPN", 2, start=10))
    assert {r.signature.key_id for r in new_reports} == {new_id}

    archived = load_certified_key((root / "JPN" / f"signing-{old_signer.key_id}.crt").read_bytes())
    verifier = Verifier([archived, new_signer.certified])
    for report in old_reports + new_reports:
        check(verifier, report)
    # A receiver that only learned the new key cannot verify the old reports.
    with pytest.raises(ProvenanceError, match="unknown signing key"):
        check(Verifier([new_signer.certified]), old_reports[0])


def test_signing_key_must_match_its_certificate(tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    shutil.copy(root / "USA" / "signing.key", root / "JPN" / "signing.key")
    with pytest.raises(ConfigError, match="does not match"):
        load_signing_key(root / "JPN")
    with pytest.raises(ConfigError, match="no signing key"):
        load_signing_key(root / "KOR")


def test_trust_store_accepts_only_this_cas_signing_certificates(tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    ca = [x509.load_pem_x509_certificate((root / "JPN" / "ca.crt").read_bytes())]
    good = verify_certified_key((root / "JPN" / "signing.crt").read_bytes(), ca)
    assert good.nation == "JPN"
    assert good.key_id == key_id_of(load_signing_key(root / "JPN")[0].public_key())
    # A TLS certificate from the same CA is not a signing certificate.
    with pytest.raises(ProvenanceError):
        verify_certified_key((root / "JPN" / "tls.crt").read_bytes(), ca)
    # A signing certificate from another CA calling itself JPN's.
    other = tmp_path / "other"
    init_nation(other / "JPN", "JPN")
    with pytest.raises(ProvenanceError, match="not issued by JPN CA"):
        verify_certified_key((other / "JPN" / "signing.crt").read_bytes(), ca)
    # USA's CA cannot certify a key for JPN: a nation certifies only its own keys.
    usa_ca = [x509.load_pem_x509_certificate((root / "USA" / "ca.crt").read_bytes())]
    with pytest.raises(ProvenanceError):
        verify_certified_key((root / "JPN" / "signing.crt").read_bytes(), usa_ca)
    # Same CA name, different CA key: the signature check catches it.
    impostor = tmp_path / "impostor"
    create_ca(impostor / "JPN", "JPN")
    issue_signing_key(impostor / "JPN", "JPN")
    with pytest.raises(ProvenanceError):
        verify_certified_key((impostor / "JPN" / "signing.crt").read_bytes(), ca)


def test_certified_key_validity_window(pki: Path) -> None:
    key = load_signing_key(pki / "USA")[1]
    assert key.valid_at(key.not_before)
    assert key.valid_at(key.not_after)
    assert not key.valid_at(key.not_before - dt.timedelta(microseconds=1))
    assert not key.valid_at(key.not_after + dt.timedelta(microseconds=1))
    with pytest.raises(ProvenanceError):
        load_certified_key(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
