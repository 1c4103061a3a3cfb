"""Readers: every supported file format opened as a streamed, all-text table plus what was detected.

``read_source(path, options)`` detects the format and returns a :class:`Source`; ``peek`` also gives
the first rows for the preview. See :mod:`machidata.ingest.readers.base` for the contract and the
limits, and each format's module for its rules.
"""

from machidata.ingest.readers.base import (
    MAX_COLUMNS,
    MAX_ROW_BYTES,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    SHEET_COLUMN,
    ReadOptions,
    Source,
    peek,
    read_source,
)

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROW_BYTES",
    "MAX_XLSX_RATIO",
    "MAX_XLSX_UNCOMPRESSED",
    "SHEET_COLUMN",
    "ReadOptions",
    "Source",
    "peek",
    "read_source",
]
