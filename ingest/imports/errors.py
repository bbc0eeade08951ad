"""Errors of file imports: the file as a whole cannot be read as asked.

    ImportFileError (ValueError)   the file, where in it, and what was expected, in one sentence

Bad rows are not errors: they go to the rejects file and the rest is imported.
"""

from __future__ import annotations


class ImportFileError(ValueError):
    """A file cannot be imported as asked (missing, empty, binary, missing columns ...)."""
