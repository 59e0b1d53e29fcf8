"""Each nation its own trust root (issue #13 item 1): the exact `trilink pki` contract.

Two sites set up with only the commands, the way real sites would: `pki init` in each
site's directory, `pki export` with its fingerprint, `pki trust` of the other's bundle.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trilink.federation.localnet import NATIONS, ensure_network
from trilink.provenance.pki import nation_of


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def fingerprint_of(output: str) -> str:
    found = re.search(r"fingerprint \(SHA-256\): ([0-9a-f]{64})", output)
    assert found, output
    return found.group(1)


def test_two_sites_set_up_from_the_commands_alone(tmp_path: Path) -> None:
    jpn, usa = tmp_path / "site-jpn", tmp_path / "site-usa"
    done = cli("pki", "init", "--dir", str(jpn), "--nation", "JPN", "--host", "jpn.example")
    assert done.returncode == 0, done.stderr
    assert cli("pki", "init", "--dir", str(usa), "--nation", "USA").returncode == 0
    # JPN's directory holds JPN's material and nothing of anyone else's
    assert {p.name for p in jpn.iterdir()} == {
        "ca.crt", "ca.key", "tls.crt", "tls.key", "signing.crt", "signing.key", "node.toml"
    }  # fmt: skip
    for name in ("ca.crt", "tls.crt", "signing.crt"):
        assert nation_of(x509.load_pem_x509_certificate((jpn / name).read_bytes())) == "JPN"
    tls = x509.load_pem_x509_certificate((jpn / "tls.crt").read_bytes())
    names = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["jpn.example"]
    default = x509.load_pem_x509_certificate((usa / "tls.crt").read_bytes())
    names = default.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(n.value) for n in names} == {"127.0.0.1", "localhost"}

    exported = cli("pki", "export", "--dir", str(jpn), "--out", str(tmp_path / "jpn.json"))
    assert exported.returncode == 0, exported.stderr
    fingerprint = fingerprint_of(exported.stdout)
    bundle_text = (tmp_path / "jpn.json").read_text()
    assert "PRIVATE KEY" not in bundle_text
    assert json.loads(bundle_text)["nation"] == "JPN"

    wrong = cli(
        "pki", "trust", "--dir", str(usa), "--partner", "JPN", "--url", "https://jpn.example:8102",
        str(tmp_path / "jpn.json"), "--fingerprint", "00" * 32,
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "does not match" in wrong.stderr and "do not trust this bundle" in wrong.stderr
    assert "partners" not in tomllib.loads((usa / "node.toml").read_text())

    mislabelled = cli(
        "pki", "trust", "--dir", str(usa), "--partner", "KOR", "--url", "https://x:1",
        str(tmp_path / "jpn.json"), "--fingerprint", fingerprint,
    )  # fmt: skip
    assert mislabelled.returncode == 2 and "JPN's trust bundle, not KOR's" in mislabelled.stderr

    trusted = cli(
        "pki", "trust", "--dir", str(usa), "--partner", "JPN", "--url", "https://jpn.example:8102",
        str(tmp_path / "jpn.json"), "--fingerprint", fingerprint,
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    table = tomllib.loads((usa / "node.toml").read_text())["partners"]["JPN"]
    assert table["url"] == "https://jpn.example:8102"
    assert table["ceiling"] == "SECRET" and "note" in table["kinds"]
    assert (usa / table["bundle"]).read_text() == bundle_text


def test_a_bundle_whose_certificates_another_ca_issued_is_refused(tmp_path: Path) -> None:
    jpn, rogue = tmp_path / "jpn", tmp_path / "rogue"
    assert cli("pki", "init", "--dir", str(jpn), "--nation", "JPN").returncode == 0
    assert cli("pki", "init", "--dir", str(rogue), "--nation", "JPN").returncode == 0
    assert cli("pki", "init", "--dir", str(tmp_path / "usa"), "--nation", "USA").returncode == 0
    cli("pki", "export", "--dir", str(jpn), "--out", str(tmp_path / "jpn.json"))
    doc = json.loads((tmp_path / "jpn.json").read_text())
    doc["signing"] = [(rogue / "signing.crt").read_text()]  # a key JPN's CA never certified
    (tmp_path / "tampered.json").write_text(json.dumps(doc))
    refused = cli(
        "pki", "trust", "--dir", str(tmp_path / "usa"), "--partner", "JPN", "--url",
        "https://127.0.0.1:8102", str(tmp_path / "tampered.json"),
    )  # fmt: skip
    assert refused.returncode == 2 and "not issued by JPN CA" in refused.stderr


def test_the_local_network_gives_each_directory_one_nation_only(tmp_path: Path) -> None:
    ensure_network(tmp_path)
    private: dict[bytes, str] = {}
    for nation in NATIONS:
        for path in (tmp_path / nation).rglob("*"):
            if path.is_file() and b"PRIVATE KEY" in path.read_bytes():
                key = serialization.load_pem_private_key(path.read_bytes(), None)
                public = key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                assert public not in private, f"{path} repeats {private.get(public)}"
                private[public] = str(path)
                assert path.name in {"ca.key", "tls.key", "signing.key"}, path
        bundles = sorted(p.name for p in (tmp_path / nation / "partners").glob("*.json"))
        assert bundles == sorted(f"{p}.bundle.json" for p in NATIONS if p != nation)
    assert len(private) == 9  # three nations x (CA, TLS, signing), each in one place only


def test_net_up_replaces_a_lost_token_file(tmp_path: Path) -> None:
    """The token's text exists only in its file: lost, the old token is revoked and a new
    one written (a name already used no longer stops 'net up')."""
    from trilink.node.config import load_node_config
    from trilink.store import open_store
    from trilink.store.tokens import TokenRepository

    ensure_network(tmp_path)
    old = (tmp_path / "JPN" / "api-token").read_text().strip()
    (tmp_path / "JPN" / "api-token").unlink()
    ensure_network(tmp_path)
    new = (tmp_path / "JPN" / "api-token").read_text().strip()
    store = open_store(load_node_config(tmp_path / "JPN" / "node.toml").db_url)
    try:
        repo = TokenRepository(store)
        assert repo.check(old) is None and repo.check(new) is not None
    finally:
        store.close()
