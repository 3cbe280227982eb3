"""Short verification codes printed on proofs: what a person types from paper (pure part).

A code is 11 random symbols of Crockford's base32 alphabet (``0-9 A-Z`` without ``I L O U``: no
letter that reads as a digit) and one check symbol, printed in three groups of four
(``7K3M-Q9TD-2XWR``). Reading it back, case, hyphens and spaces do not matter, and the letters
Crockford names as confusable are read as the digits they look like (``I``/``L`` as ``1``, ``O``
as ``0``).

The check symbol makes the 12 symbols a code word over GF(32) (the field of polynomials modulo
``x^5 + x^2 + 1``): reading the symbols as field elements ``d_1 .. d_12``, the interim value
``c_0 = 0``, ``c_i = x * c_(i-1) + d_i`` must end at ``c_12 = 0`` (the check symbol is
``x * c_11``, since ``+`` and ``-`` are the same in GF(2^5)). This is Damm's algorithm with the
quasigroup ``c * d = x * c + d``, which is totally anti-symmetric because ``x + 1 != 0``:

- a single wrong symbol is always caught (each step is a bijection of ``c`` and of ``d``);
- swapping two adjacent different symbols ``d, e`` is always caught
  (``x(xc + d) + e = x(xc + e) + d`` only if ``(x + 1)(d + e) = 0``, i.e. ``d = e``).

Crockford's own check symbol (modulo 37) needs five extra symbols (``* ~ $ = U``) that a
form or a phone keyboard handles badly; this one stays in the 32 symbols.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 11
LENGTH = DATA_LENGTH + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford's decoding: letters that look like digits are read as those digits.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_IGNORED = str.maketrans("", "", " -\t\u00a0\u2010\u2011\u2012\u2013\u2014\u2212\u3000")


class CodeError(ValueError):
    """A typed code that cannot be a verification code; the message says why (in Chinese
    and English, for the page)."""


def _times_x(value: int) -> int:
    """``value * x`` in GF(32) modulo ``x^5 + x^2 + 1``."""
    shifted = value << 1
    return (shifted ^ 0b100101) if shifted & 0b100000 else shifted


def _interim(symbols: str) -> int:
    c = 0
    for symbol in symbols:
        c = _times_x(c) ^ _VALUE[symbol]
    return c


def check_symbol(data: str) -> str:
    """The check symbol of ``data`` (symbols of :data:`ALPHABET`)."""
    return ALPHABET[_times_x(_interim(data))]


def is_valid(code: str) -> bool:
    """Whether a normalised code (symbols of :data:`ALPHABET`) has a matching check symbol."""
    return len(code) == LENGTH and all(s in _VALUE for s in code) and _interim(code) == 0


def new_code() -> str:
    """A fresh random code, normalised (no hyphens): 55 random bits and the check symbol."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_symbol(data)


def format_code(code: str) -> str:
    """A normalised code as printed: ``XXXX-XXXX-XXXX``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """The code a person typed, normalised: upper case, without hyphens or spaces, confusable
    letters read as digits; its check symbol verified.

    Raises:
        CodeError: wrong length, a symbol outside the alphabet, or a check symbol that does
            not match (a typing error).
    """
    code = text.upper().translate(_IGNORED).translate(_CONFUSABLE)
    if len(code) != LENGTH:
        raise CodeError(
            f"核验码应为 {LENGTH} 位(现为 {len(code)} 位)。"
            f"The code has {LENGTH} characters ({len(code)} given)."
        )
    strange = sorted({s for s in code if s not in _VALUE})
    if strange:
        # Only symbols outside the alphabet are quoted: at most 12 short characters typed.
        shown = " ".join(s if s.isprintable() else "?" for s in strange)
        raise CodeError(f"核验码中有无效字符:{shown}。The code has characters it cannot hold.")
    if _interim(code) != 0:
        raise CodeError(
            "核验码有误,请逐位核对(可能输错或颠倒了字符)。"
            "The code is not right: check each character (one may be mistyped or swapped)."
        )
    return code
