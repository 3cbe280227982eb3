"""The file adapter: CSV (UTF-8 or GB18030, detected) and XLSX exports with Chinese headers.

Rows are streamed in pages, so a large export is never held in memory at once. Each row is a
dict from header to cell value; the mapping turns it into a record.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from importers.errors import FileFormatError

PAGE_SIZE = 1000
_SNIFF_CHUNK = 1 << 16


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` if the whole file decodes as UTF-8 (with or without a BOM), else ``gb18030``.

    Exports from Chinese office software are often GB18030 (a superset of GBK); any such file
    with Chinese text in it is, in practice, never valid UTF-8. The check streams the file.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(_SNIFF_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def _clean_header(value: Any) -> str:
    return str(value).strip().lstrip("\ufeff") if value is not None else ""


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise FileFormatError(f"{path.name}: no header row")
        names = [_clean_header(h) for h in header]
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            yield {n: c for n, c in zip(names, cells, strict=False) if n}


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def _xlsx_rows(path: Path) -> Iterator[dict[str, Any]]:
    # openpyxl is imported here so that a sync (which never reads spreadsheets) does not pay for it.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileFormatError(f"{path.name}: not a readable XLSX workbook") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(h is not None for h in header):
            raise FileFormatError(f"{path.name}: no header row")
        names = [_clean_header(h) for h in header]
        for cells in rows:
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield {n: _cell(c) for n, c in zip(names, cells, strict=False) if n}
    finally:
        workbook.close()


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the rows of a CSV or XLSX export as header-to-value dicts.

    Raises:
        FileFormatError: not a .csv/.xlsx file, or no header row.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    raise FileFormatError(f"{path.name}: only .csv and .xlsx exports can be imported")


def read_pages(path: Path, page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """The rows of an export in pages of ``page_size``.

    Raises:
        FileFormatError: as :func:`read_rows`.
    """
    page: list[dict[str, Any]] = []
    for row in read_rows(path):
        page.append(row)
        if len(page) >= page_size:
            yield page
            page = []
    if page:
        yield page
