"""The file adapter: CSV (UTF-8 or GB18030, detected) and XLSX exports with Chinese headers.

Rows are streamed in pages, so a large export is never held in memory at once. Each row is a
dict from header to cell value; the mapping turns it into a record.

A file is read through once before anything of it is imported (:func:`check_export`), and any
problem with the file as a whole refuses all of it with one line naming the problem: an
encoding that is neither UTF-8 nor GB18030 (UTF-16 said by name), a column the mapping needs
that is missing (named), a header given twice, a cell too large, an ID number that Excel stored
as a number. A workbook's rows are read to the last one whatever its dimension record says.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from importers.errors import FileFormatError

PAGE_SIZE = 1000
_SNIFF_CHUNK = 1 << 16


# No record's field is longer than 200 characters; a cell far longer is not an export's.
MAX_CELL = 10_000


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32, recognised by a byte-order mark or by NULs between ASCII letters."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    if len(head) >= 4 and head.count(0) * 4 >= len(head):
        return "UTF-16"
    return None


def _decodes_as(path: Path, encoding: str) -> tuple[int, int] | None:
    """``None`` if the whole file decodes as ``encoding``, else the offset and value of the
    first byte it cannot decode. Streams the file."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0  # of the bytes the decoder is handed next, less those it holds back
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_SNIFF_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start, exc.object[exc.start]
            offset += len(chunk)
            if not chunk:
                return None


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` if the whole file decodes as UTF-8 (with or without a BOM), else
    ``gb18030`` if it decodes as that.

    Exports from Chinese office software are often GB18030 (a superset of GBK); any such file
    with Chinese text in it is, in practice, never valid UTF-8. The check streams the file.

    Raises:
        FileFormatError: the file is UTF-16 or UTF-32, or decodes as neither.
    """
    with path.open("rb") as handle:
        head = handle.read(512)
    wide = _wide_encoding(head)
    if wide is not None:
        raise FileFormatError(
            f"{path.name}: the file is {wide}; save it as CSV in UTF-8 (or GB18030) and import that"
        )
    not_utf8 = _decodes_as(path, "utf-8")
    if not_utf8 is None:
        return "utf-8-sig"
    if _decodes_as(path, "gb18030") is None:
        return "gb18030"
    offset, value = not_utf8
    raise FileFormatError(
        f"{path.name}: the file is neither UTF-8 nor GB18030 (UTF-8 breaks at byte"
        f" 0x{value:02x}, offset {offset}); save it as CSV in UTF-8"
    )


def _clean_header(value: Any) -> str:
    return str(value).strip().lstrip("\ufeff") if value is not None else ""


def _header_names(path: Path, header: Sequence[Any]) -> list[str]:
    """The header row's names.

    Raises:
        FileFormatError: a name appears twice (which column would count?).
    """
    names = [_clean_header(h) for h in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise FileFormatError(f"{path.name}: the header {name!r} appears twice")
        seen.add(name)
    return names


Row = tuple[int, dict[str, Any]]
"""A data row: its number in the file (the header is row 1) and its header-to-value dict, which
names every header (a cell the row leaves out is ``None``)."""


def _row(path: Path, number: int, names: list[str], cells: Sequence[Any]) -> Row:
    extra = cells[len(names) :]
    if any(c is not None and str(c).strip() for c in extra):
        raise FileFormatError(
            f"{path.name}: row {number} has {len(cells)} cells but the header only {len(names)}"
        )
    values = list(cells[: len(names)]) + [None] * (len(names) - len(cells))
    return number, {n: _cell(v) for n, v in zip(names, values, strict=True) if n}


def _csv_rows(path: Path) -> Iterator[Row]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        number = 1
        try:
            header = next(reader, None)
            if not header:
                raise FileFormatError(f"{path.name}: no header row")
            names = _header_names(path, header)
            for number, cells in enumerate(reader, start=2):
                if any(c.strip() for c in cells):
                    yield _row(path, number, names, cells)
        except csv.Error as exc:
            raise FileFormatError(f"{path.name}: row {number + 1}: {_csv_problem(exc)}") from None


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field limit" in text:
        return f"a cell is longer than {csv.field_size_limit()} characters"
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def _xlsx_rows(path: Path) -> Iterator[Row]:
    # openpyxl is imported here so that a sync (which never reads spreadsheets) does not pay for it.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileFormatError(f"{path.name}: not a readable XLSX workbook") from exc
    try:
        sheet = workbook.worksheets[0]
        # A read-only sheet believes the dimension record the writer left (e.g. A1:G10), which
        # may be stale: forget it, and read every row the sheet holds.
        sheet.reset_dimensions()
        yield from _sheet_rows(path, sheet.iter_rows(values_only=True))
    except FileFormatError:
        raise
    except Exception as exc:  # a workbook damaged past its first rows
        raise FileFormatError(f"{path.name}: not a readable XLSX workbook") from exc
    finally:
        workbook.close()


def _sheet_rows(path: Path, rows: Iterator[tuple[Any, ...]]) -> Iterator[Row]:
    header = next(rows, None)
    if not header or not any(h is not None for h in header):
        raise FileFormatError(f"{path.name}: no header row")
    names = _header_names(path, header)
    for number, cells in enumerate(rows, start=2):
        if not all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            yield _row(path, number, names, cells)


def _numbered_rows(path: Path) -> Iterator[Row]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    raise FileFormatError(f"{path.name}: only .csv and .xlsx exports can be imported")


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the rows of a CSV or XLSX export as header-to-value dicts (every header named;
    ``None`` for a cell a row leaves out).

    Raises:
        FileFormatError: not a .csv/.xlsx file, no header row, or unreadable (as
            :func:`detect_encoding` and :func:`check_export` say).
    """
    return (row for _, row in _numbered_rows(path))


def _missing_columns(
    path: Path, headers: Sequence[str], required: Mapping[str, Sequence[str]]
) -> None:
    present = set(headers)
    for ours, theirs in required.items():
        if not present.intersection(theirs):
            found = ", ".join(h for h in headers if h) or "none"
            raise FileFormatError(
                f"{path.name}: no column for {ours} (a header named {' or '.join(theirs)});"
                f" the file's headers are: {found}"
            )


def _check_row(path: Path, number: int, row: Mapping[str, Any], id_headers: Sequence[str]) -> None:
    for header, value in row.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_CELL:
            raise FileFormatError(
                f"{path.name}: row {number}, column {header}: the cell is {len(value)}"
                f" characters long (at most {MAX_CELL})"
            )
        if "\x00" in value:
            raise FileFormatError(
                f"{path.name}: row {number}, column {header}: the cell holds a NUL character"
                " (is this really a CSV or XLSX export?)"
            )
    for header in id_headers:
        if isinstance(row.get(header), float):
            raise FileFormatError(
                f"{path.name}: row {number}, column {header}: the ID number is stored as a"
                " number, and Excel keeps only 15 digits of a number; format the column as"
                " text and enter the ID numbers again"
            )


def check_export(
    path: Path, required: Mapping[str, Sequence[str]], id_headers: Sequence[str] = ()
) -> int:
    """Read a whole export once, before any of it is imported; return how many rows it holds.

    ``required`` maps each field the import needs to the headers that may hold it.

    Raises:
        FileFormatError: naming the first problem with the file as a whole: its type or
            encoding, a missing column (by the field and the headers accepted), a header given
            twice, a cell too large, a row longer than the header, an ID number stored as a
            number (with how to fix it).
    """
    count = 0
    for number, row in _numbered_rows(path):
        if count == 0:
            _missing_columns(path, list(row), required)
        count += 1
        _check_row(path, number, row, id_headers)
    return count


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
