"""Typed errors for trilink. Every message says what was wrong and what to do about it.

Hierarchy::

    TrilinkError
    ├── ConfigError                 a node/config/PKI file is missing or wrong
    ├── LabelError                  a security label does not parse or is inconsistent
    ├── ReportError                 a report envelope or payload is invalid
    │   ├── UnknownKindError
    │   └── PayloadError
    ├── ProvenanceError             signature, key or certificate problem
    ├── StoreError                  database problem (migration, integrity)
    ├── AuditChainError             the audit chain does not verify
    ├── FederationError             talking to a partner failed
    └── InputError                  a data file or field given by the user is bad
        (engines subclass this with file/line/field context)

A release-policy denial is never an exception: it is a returned ``Decision``.
"""

from __future__ import annotations


class TrilinkError(Exception):
    """Root of every error trilink raises on purpose."""


class ConfigError(TrilinkError):
    """A configuration, PKI or node directory problem the operator must fix."""


class LabelError(TrilinkError):
    """A label text that does not parse, or a label that contradicts itself."""

    def __init__(self, message: str, *, token: str | None = None, text: str | None = None):
        super().__init__(message)
        self.token = token
        self.text = text


class ReportError(TrilinkError):
    """A report envelope that is malformed."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class UnknownKindError(ReportError):
    """A report kind that no schema is registered for."""


class PayloadError(ReportError):
    """A payload that fails its kind's schema (or is too large)."""


class ProvenanceError(TrilinkError):
    """A signature, key or certificate that does not verify."""


class StoreError(TrilinkError):
    """A storage problem: migrations, integrity, connection."""


class AuditChainError(TrilinkError):
    """The audit log's hash chain is broken at a given row."""

    def __init__(self, message: str, *, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


class FederationError(TrilinkError):
    """A partner could not be reached or answered with an error."""


class InputError(TrilinkError):
    """Bad user-supplied input. Carries where it was found so the user can fix it."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ):
        where = ":".join(str(p) for p in (path, line) if p is not None)
        if field:
            where = f"{where} field {field!r}" if where else f"field {field!r}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line = line
        self.field = field
