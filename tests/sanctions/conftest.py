"""Shared fixtures: the real lists bundled with trilink, parsed once per session."""

from __future__ import annotations

import gzip
from importlib import resources

import pytest

from trilink.sanctions.io import BUNDLED, UN_CONSOLIDATED_2020, bundled_lists
from trilink.sanctions.listset import ListSet
from trilink.sanctions.records import OFAC_SDN, UN_1718, UN_CONSOLIDATED, SanctionsList
from trilink.sanctions.screen import Screener


def _raw(list_id: str) -> bytes:
    fname = UN_CONSOLIDATED_2020 if list_id == UN_CONSOLIDATED else BUNDLED[list_id][0]
    data = resources.files("trilink.sanctions").joinpath("data").joinpath(fname).read_bytes()
    return gzip.decompress(data)


@pytest.fixture(scope="session")
def ofac_raw() -> bytes:
    return _raw(OFAC_SDN)


@pytest.fixture(scope="session")
def un1718_raw() -> bytes:
    return _raw(UN_1718)


@pytest.fixture(scope="session")
def unxml_raw() -> bytes:
    """The UN consolidated list of 2020-11-30 (the bundled list in force is the 2026 one)."""
    return _raw(UN_CONSOLIDATED)


@pytest.fixture(scope="session")
def un2020(unxml_raw: bytes) -> SanctionsList:
    from trilink.sanctions.unxml import parse_un_consolidated

    return parse_un_consolidated(unxml_raw, source_name="un_consolidated_2020-11-30.xml")


@pytest.fixture(scope="session")
def lists() -> dict[str, SanctionsList]:
    return {sl.list_id: sl for sl in bundled_lists()}


@pytest.fixture(scope="session")
def list_set(lists: dict[str, SanctionsList]) -> ListSet:
    return ListSet(lists.values())


@pytest.fixture(scope="session")
def screener(list_set: ListSet) -> Screener:
    return Screener(list_set.vessels)
