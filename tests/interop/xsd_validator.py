"""XML Schema validation for the export tests, by libxml2 (the validator of xmllint and lxml).

lxml is used when it is installed; otherwise the system's libxml2 is called directly through
ctypes (``libxml2.so.2``, present wherever Python's own toolchain is). Schemas are the public
ones bundled in ``schemas/`` (see schemas/SOURCES.md); imports resolve next to them and the
parser never touches the network (XML_PARSE_NONET).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path
from typing import Any

import pytest

SCHEMAS = Path(__file__).resolve().parent / "schemas"
COT_XSD = SCHEMAS / "cot-event-2.0.xsd"
KML_XSD = SCHEMAS / "kml22" / "ogckml22.xsd"
XML_PARSE_NONET = 2048

try:
    from lxml import etree as _lxml  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    _lxml = None


class _XmlError(ctypes.Structure):
    # libxml2's xmlError, up to the fields read here (layout stable since 2.6)
    _fields_ = [
        ("domain", ctypes.c_int),
        ("code", ctypes.c_int),
        ("message", ctypes.c_char_p),
        ("level", ctypes.c_int),
        ("file", ctypes.c_char_p),
        ("line", ctypes.c_int),
    ]


_ON_ERROR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_XmlError))


class _LibXml2:
    def __init__(self) -> None:
        name = ctypes.util.find_library("xml2") or "libxml2.so.2"
        lib = ctypes.CDLL(name)
        lib.xmlSchemaNewParserCtxt.restype = ctypes.c_void_p
        lib.xmlSchemaNewParserCtxt.argtypes = [ctypes.c_char_p]
        lib.xmlSchemaParse.restype = ctypes.c_void_p
        lib.xmlSchemaParse.argtypes = [ctypes.c_void_p]
        lib.xmlSchemaNewValidCtxt.restype = ctypes.c_void_p
        lib.xmlSchemaNewValidCtxt.argtypes = [ctypes.c_void_p]
        lib.xmlSchemaSetParserStructuredErrors.argtypes = [
            ctypes.c_void_p,
            _ON_ERROR,
            ctypes.c_void_p,
        ]
        lib.xmlSchemaSetValidStructuredErrors.argtypes = [
            ctypes.c_void_p,
            _ON_ERROR,
            ctypes.c_void_p,
        ]
        lib.xmlReadMemory.restype = ctypes.c_void_p
        lib.xmlReadMemory.argtypes = [
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.xmlSchemaValidateDoc.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.xmlFreeDoc.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.errors: list[str] = []
        self.callback = _ON_ERROR(self._collect)  # kept alive as long as the contexts

    def _collect(self, _: Any, error: Any) -> None:
        e = error.contents
        message = (e.message or b"").decode("utf-8", "replace").strip()
        self.errors.append(f"line {e.line}: {message}")

    def schema(self, path: Path) -> int:
        parser = self.lib.xmlSchemaNewParserCtxt(str(path).encode())
        self.lib.xmlSchemaSetParserStructuredErrors(parser, self.callback, None)
        self.errors.clear()
        schema = self.lib.xmlSchemaParse(parser)
        if not schema:
            raise RuntimeError(f"{path} does not parse as XML Schema: {self.errors}")
        valid: int = self.lib.xmlSchemaNewValidCtxt(schema)
        self.lib.xmlSchemaSetValidStructuredErrors(valid, self.callback, None)
        return valid

    def validate(self, context: int, document: bytes) -> list[str]:
        self.errors.clear()
        doc = self.lib.xmlReadMemory(document, len(document), b"export.xml", None, XML_PARSE_NONET)
        if not doc:
            return ["not well-formed XML", *self.errors]
        status = self.lib.xmlSchemaValidateDoc(context, doc)
        self.lib.xmlFreeDoc(doc)
        return list(self.errors) if status else []


class Validator:
    """``errors(document)``: the schema violations of an XML document ([] when valid)."""

    def __init__(self, xsd: Path) -> None:
        self.xsd = xsd
        if _lxml is not None:
            self._schema = _lxml.XMLSchema(_lxml.parse(str(xsd)))
            self.engine = "lxml"
            return
        try:
            self._libxml2 = _LibXml2()
        except OSError as err:
            pytest.fail(f"no XML Schema validator: install lxml, or libxml2 ({err})")
        self._context = self._libxml2.schema(xsd)
        self.engine = "libxml2"

    def errors(self, document: bytes) -> list[str]:
        if _lxml is not None:
            parser = _lxml.XMLParser(no_network=True, resolve_entities=False)
            try:
                doc = _lxml.fromstring(document, parser)
            except _lxml.XMLSyntaxError as err:
                return [f"not well-formed XML: {err}"]
            if self._schema.validate(doc):
                return []
            return [f"line {e.line}: {e.message}" for e in self._schema.error_log]
        return self._libxml2.validate(self._context, document)
