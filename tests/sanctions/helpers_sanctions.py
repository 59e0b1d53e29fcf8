"""Builders of modified real list files for the update tests."""

from __future__ import annotations

import re

from trilink.sanctions.identifiers import imo_check_digit

NEW_IMO = "930000" + str(imo_check_digit("930000"))


def newer_ofac(raw: bytes) -> bytes:
    """The real sdn.csv with CHON MA SAN renamed, JI SONG 8 removed and one vessel added."""
    text = raw.decode("utf-8")
    text = re.sub(r'(?m)^23729,"CHON MA SAN"', '23729,"KUM SONG"', text, count=1)
    text, n = re.subn(r'(?m)^23739,"JI SONG 8",.*\r\n', "", text, count=1)
    assert n == 1
    row = (f'99999,"NEW TANKER 1","vessel","DPRK4",-0- ,-0- ,-0- ,-0- ,-0- ,"Panama",-0- ,'
           f'"Vessel Registration Identification IMO {NEW_IMO}."\r\n')  # fmt: skip
    end = text.rindex("\x1a")
    return (text[:end] + row + text[end:]).encode("utf-8")
