"""Free texts: a record's short texts (external id, name, course) and the reasons people give.

A *reason* says why something was undone: a reversal of a record, the revocation of an
attestation (R11: falsified hours are found long after they were used), the retirement of a
signing key. It is kept word for word in the audit trail, so it may run over several lines.
A record's *texts* are single-line labels a platform sends; they are checked for length and
for control characters, which no platform has a reason to send.

Any text must be valid Unicode. JSON can carry a lone surrogate (``"\\ud800"``), half of a
UTF-16 pair that is no character at all: Python keeps it in a ``str``, but no UTF-8 encoder,
database or digest can take it. Such a text is refused where it arrives, field by field
(:func:`unicode_problem`, :func:`find_unfit_texts`), and never echoed back as it came
(:func:`printable`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

MAX_REASON = 2000


# Any C0 control character or DEL: a tab or a line break has no place in a name or a title.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


# Lone surrogates (U+D800 to U+DFFF): a ``str`` can hold them, UTF-8 cannot.
SURROGATES = re.compile(r"[\ud800-\udfff]")


# What no single-line text may hold: control characters and lone surrogates.
UNFIT_IN_LINE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


# What no text at all may hold: lone surrogates, and NUL, which PostgreSQL cannot store. A
# reason may run over several lines (tabs and line breaks), but no other control character.
UNFIT_ANYWHERE = re.compile(r"[\x00\ud800-\udfff]")
UNFIT_IN_REASON = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


NOT_UNICODE = "must be valid Unicode text: it holds a lone surrogate (such as \\ud800)"


HOLDS_NUL = "must not contain NUL characters"


_KEY_PROBLEMS = {
    NOT_UNICODE: "the field's name is not valid Unicode text: it holds a lone surrogate",
    HOLDS_NUL: "the field's name holds a NUL character",
}


def unicode_problem(text: str) -> str | None:
    """Why ``text`` cannot be taken as it is anywhere (a lone surrogate, a NUL), or ``None``."""
    found = UNFIT_ANYWHERE.search(text)
    if found is None:
        return None
    return HOLDS_NUL if found.group() == "\x00" else NOT_UNICODE


def printable(text: str) -> str:
    """``text`` as it may be echoed in an answer or a message: lone surrogates written as
    ``\\udxxx`` escapes (valid text; the original cannot be encoded at all)."""
    if SURROGATES.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def storable(text: str) -> str:
    """``text`` as a database can keep it: lone surrogates and NULs written as backslash
    escapes (``\\ud800``, ``\\x00``), everything else as it is. For keeping what a platform
    sent (the quarantine), where refusing is not an option."""
    if UNFIT_ANYWHERE.search(text) is None:
        return text
    return printable(text).replace("\x00", "\\x00")


def find_unfit_texts(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value (object keys included) that no field may hold, as
    ``(path, problem)``: paths are dotted (``people.3.ref``), a key's own problem is reported
    at the key's path.
    """
    if isinstance(value, str):
        problem = unicode_problem(value)
        if problem is not None:
            yield path or "_body", problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = printable(str(key))
            where = f"{path}.{name}" if path else name
            problem = unicode_problem(str(key))
            if problem is not None:
                yield where, _KEY_PROBLEMS[problem]
            yield from find_unfit_texts(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from find_unfit_texts(item, f"{path}.{index}" if path else str(index))


def parse_reason(value: object) -> str:
    """Validate a reason and return it without surrounding spaces.

    The limit applies to the text as given (spaces included), as the API's schemas count it.

    Raises:
        ValueError: it is not a text, blank, longer than :data:`MAX_REASON` characters, not
            valid Unicode, or holds control characters other than tabs and line breaks.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a reason is required")
    if len(value) > MAX_REASON:
        raise ValueError(f"must be at most {MAX_REASON} characters")
    found = UNFIT_IN_REASON.search(value)
    if found is not None:
        if SURROGATES.fullmatch(found.group()):
            raise ValueError(NOT_UNICODE)
        raise ValueError("must not contain control characters other than tabs and line breaks")
    return value.strip()


def parse_text(value: object, *, limit: int) -> str:
    """Validate one of a record's single-line texts and return it without surrounding spaces.

    The limit applies to the text without its surrounding spaces.

    Raises:
        ValueError: it is not a text, blank, longer than ``limit``, not valid Unicode or holds
            control characters.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if SURROGATES.search(value):
        raise ValueError(NOT_UNICODE)
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if CONTROL_CHARACTERS.search(text):
        raise ValueError("must not contain control characters")
    return text
