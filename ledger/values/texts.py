"""Free texts: a record's short texts (external id, name, course) and the reasons people give.

A *reason* says why something was undone: a reversal of a record, the revocation of an
attestation (R11: falsified hours are found long after they were used), the retirement of a
signing key. It is kept word for word in the audit trail, so it may run over several lines.
A record's *texts* are single-line labels a platform sends; they are checked for length and
for control characters, which no platform has a reason to send.
"""

from __future__ import annotations

import re

MAX_REASON = 2000


# Any C0 control character or DEL: a tab or a line break has no place in a name or a title.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def parse_reason(value: object) -> str:
    """Validate a reason and return it without surrounding spaces.

    The limit applies to the text as given (spaces included), as the API's schemas count it.

    Raises:
        ValueError: it is not a text, blank, or longer than :data:`MAX_REASON` characters.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a reason is required")
    if len(value) > MAX_REASON:
        raise ValueError(f"must be at most {MAX_REASON} characters")
    return value.strip()


def parse_text(value: object, *, limit: int) -> str:
    """Validate one of a record's single-line texts and return it without surrounding spaces.

    The limit applies to the text without its surrounding spaces.

    Raises:
        ValueError: it is not a text, blank, longer than ``limit`` or holds control characters.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if CONTROL_CHARACTERS.search(text):
        raise ValueError("must not contain control characters")
    return text
