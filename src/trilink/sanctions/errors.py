"""Typed errors of `trilink.sanctions`: a list file that cannot be trusted, or bad user input.

Both are `InputError`s, so the CLI turns them into one clear line naming the file, line and
field, and what to do about it.
"""

from __future__ import annotations

from trilink.errors import InputError


class SanctionsInputError(InputError):
    """A screening input (CSV row, identifier, event) that cannot be used as given."""


class ListFormatError(InputError):
    """A sanctions list file that is corrupted, truncated or not the format it claims to be.

    Raised before anything is replaced: the list set in force stays as it was.
    """
