"""Reading a CSV or Parquet file in bounded chunks of text columns, with its row numbers.

Rows are numbered from 1 for the first data row (the header is not counted), the way a
spreadsheet shows them below its header. Memory stays bounded by the chunk size whatever the
file's size: CSV is read by pandas' chunked reader, Parquet by record batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ingest.imports.errors import ImportFileError

_SNIFF_BYTES = 8192
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Chunk:
    """Rows ``first_row .. first_row + len(frame) - 1`` of a file, and how far into it."""

    first_row: int
    frame: pd.DataFrame
    bytes_done: int


def file_kind(path: Path) -> str:
    """``csv`` or ``parquet``, by content (a Parquet file starts with PAR1)."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file.")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        raise ImportFileError(f"{path}: the file is empty; expected a header line of columns.")
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    nul = head.find(b"\0")
    if nul >= 0:
        raise ImportFileError(
            f"{path}: byte offset {nul} is a NUL byte, so this is not CSV text;"
            " expected a CSV (UTF-8) or a Parquet file."
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the sniff boundary
            raise ImportFileError(
                f"{path}: byte offset {exc.start} is not UTF-8 text; expected a UTF-8 CSV."
            ) from None
    return "csv"


def columns_of(path: Path) -> list[str]:
    """The file's column names (its header)."""
    if file_kind(path) == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    try:
        header = pd.read_csv(path, nrows=0, dtype=str)
    except pd.errors.EmptyDataError:
        raise ImportFileError(
            f"{path}: the file is empty; expected a header line of columns."
        ) from None
    return [str(c) for c in header.columns]


def iter_chunks(path: Path, chunk_rows: int, usecols: list[str]) -> Iterator[Chunk]:
    """The file's rows in chunks of at most ``chunk_rows``, only the columns ``usecols``.

    CSV cells come as text (empty cells as ""), so each is judged by the importer with its
    row number; Parquet columns keep their types (timestamps, numbers).
    """
    size = max(path.stat().st_size, 1)
    if file_kind(path) == "parquet":
        yield from _parquet_chunks(path, chunk_rows, usecols, size)
        return
    first = 1
    with path.open("rb") as handle:
        try:
            reader = pd.read_csv(
                handle,
                dtype=str,
                keep_default_na=False,
                usecols=usecols,
                chunksize=chunk_rows,
                encoding="utf-8",
                encoding_errors="replace",
            )
            for frame in reader:
                yield Chunk(first, frame, min(handle.tell(), size))
                first += len(frame)
        except pd.errors.ParserError as exc:
            raise ImportFileError(
                f"{path}: from row {first} the CSV is malformed ({exc}); expected one value"
                " per column on each line."
            ) from None


def _parquet_chunks(path: Path, chunk_rows: int, usecols: list[str], size: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    total = max(parquet.metadata.num_rows, 1)
    first = 1
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=usecols):
        frame = batch.to_pandas()
        first_next = first + len(frame)
        yield Chunk(first, frame, int(size * (first_next - 1) / total))
        first = first_next
