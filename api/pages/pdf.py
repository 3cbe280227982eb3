"""The printable proof (学时证明): a PDF rendering of one signed attestation, with a QR code.

Everything printed comes from the attestation's claims, so the paper and the verification page
its QR code leads to state the same figures. Chinese text is set in Noto Sans CJK SC, embedded
(subset) from Debian's ``fonts-noto-cjk``; ``CEHOURS_PROOF_FONT`` names another OpenType or
TrueType file (``path`` or ``path#index`` for a collection).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import qrcode
from fpdf import FPDF

from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.dates import today_in_business_tz

FONT_ENV = "CEHOURS_PROOF_FONT"
# Index 2 of the collection is the Simplified Chinese face (JP, KR, SC, TC, HK).
DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2"
CATEGORY_ORDER = tuple(Category)


class ProofFontError(RuntimeError):
    """The CJK font for the proof is missing (install ``fonts-noto-cjk``)."""


@dataclass(frozen=True, slots=True)
class ProofData:
    """What one proof states: the attestation's claims plus where to verify it."""

    claims: Mapping[str, Any]
    profile_title: str
    verify_url: str
    issued_on: dt.date

    @property
    def jti(self) -> str:
        """The attestation's id."""
        return str(self.claims["jti"])


def _font() -> tuple[str, int]:
    spec = os.environ.get(FONT_ENV) or DEFAULT_FONT
    path, _, index = spec.partition("#")
    if not os.path.isfile(path):
        raise ProofFontError(f"the proof's font {path} is missing (install fonts-noto-cjk)")
    return path, int(index or 0)


def _years(claims: Mapping[str, Any]) -> list[str]:
    window = claims.get("window") or {}
    years = window.get("years") if isinstance(window, Mapping) else None
    totals = claims.get("totals") or {}
    return [str(y) for y in (years or sorted(totals))]


def period_text(claims: Mapping[str, Any]) -> str:
    """The period the proof covers, e.g. ``2019–2020年度``."""
    years = _years(claims)
    if not years:
        return "—"
    span = years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}"
    return f"{span}年度(截至 {claims.get('as_of', '')})"


def _qr_png(url: str) -> io.BytesIO:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


class _Proof(FPDF):
    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("cjk", size=8)
        self.set_text_color(110)
        self.cell(
            0,
            5,
            "本证明由继续教育学时登记服务依据签名证书生成;真伪与当前状态以扫码核验结果为准。",
            align="C",
        )


def _row(pdf: FPDF, cells: Sequence[str], widths: Sequence[float], *, bold: bool = False) -> None:
    pdf.set_fill_color(235, 240, 248) if bold else pdf.set_fill_color(255)
    for text, width in zip(cells, widths, strict=True):
        pdf.cell(width, 8, text, border=1, align="C", fill=bold)
    pdf.ln()


def render_proof(data: ProofData) -> bytes:
    """The proof as PDF bytes.

    Raises:
        ProofFontError: the CJK font is not installed.
    """
    path, index = _font()
    pdf = _Proof(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("cjk", "", path, collection_font_number=index)
    pdf.set_title("继续教育学时证明")
    pdf.set_author("cehours")
    pdf.add_page()
    _title(pdf)
    _facts(pdf, data)
    _totals(pdf, data.claims)
    _rules(pdf, data.claims)
    _where_to_verify(pdf, data)
    return bytes(pdf.output())


def _title(pdf: FPDF) -> None:
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 12, "继续教育学时证明", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.set_text_color(90)
    pdf.cell(
        0, 6, "Certificate of Continuing Education Hours", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_text_color(0)
    pdf.ln(4)


def _facts(pdf: FPDF, data: ProofData) -> None:
    """Who, which period, which profile, when."""
    claims = data.claims
    pdf.set_font("cjk", size=12)
    facts = [
        ("姓名 Name", str(claims.get("name", ""))),
        ("身份证号 ID number", str(claims.get("id_number_masked", ""))),
        ("统计期间 Period", period_text(claims)),
        ("依据 Profile", data.profile_title),
        ("开具日期 Issued", data.issued_on.isoformat()),
    ]
    for label, value in facts:
        pdf.set_text_color(90)
        pdf.cell(48, 8, label)
        pdf.set_text_color(0)
        pdf.multi_cell(0, 8, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _totals(pdf: FPDF, claims: Mapping[str, Any]) -> None:
    """The hours counted, a row per year, a column per category."""
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 9, "学时合计(计入的学时)Hours counted", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10.5)
    widths = (26.0, 38.0, 38.0, 38.0, 30.0)
    header = ["年度", *(CATEGORY_LABELS_ZH[c] for c in CATEGORY_ORDER), "合计"]
    _row(pdf, header, widths, bold=True)
    totals = claims.get("totals") or {}
    for year in _years(claims):
        figures = totals.get(year) or {}
        _row(
            pdf,
            [
                year,
                *(str(figures.get(c.value, "0")) for c in CATEGORY_ORDER),
                figures.get("total", "0"),
            ],
            widths,
        )
    pdf.ln(4)


def _rules(pdf: FPDF, claims: Mapping[str, Any]) -> None:
    """The result, and each rule's required, actual and missing hours."""
    pdf.set_font("cjk", size=13)
    verdict = "符合 Compliant" if claims.get("compliant") else "不符合 Not compliant"
    pdf.cell(0, 9, f"核验结果 Result:{verdict}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10.5)
    rule_widths = (70.0, 25.0, 25.0, 25.0, 25.0)
    _row(pdf, ["要求 Rule", "应达", "实际", "差额", "结果"], rule_widths, bold=True)
    for rule in claims.get("rules") or []:
        label = (rule.get("label") or {}).get("zh") or rule.get("id", "")
        passed = rule.get("passed")
        mark = "—" if passed is None else ("通过" if passed else "未达")
        _row(
            pdf,
            [
                str(label),
                str(rule.get("required") or "—"),
                str(rule.get("actual", "")),
                str(rule.get("shortfall", "")),
                mark,
            ],
            rule_widths,
        )
    pdf.ln(6)


def _where_to_verify(pdf: FPDF, data: ProofData) -> None:
    """The QR code of the verification page, its address and the attestation's number."""
    top = pdf.get_y()
    pdf.image(_qr_png(data.verify_url), x=pdf.l_margin, y=top, w=42, h=42)
    pdf.set_xy(pdf.l_margin + 48, top + 2)
    pdf.set_font("cjk", size=11)
    pdf.multi_cell(0, 7, "扫码或访问以下网址核验 Verify at:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(pdf.l_margin + 48)
    pdf.set_font("cjk", size=9.5)
    pdf.multi_cell(0, 6, data.verify_url, new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(pdf.l_margin + 48)
    pdf.multi_cell(0, 6, f"证明编号 No.: {data.jti}", new_x="LMARGIN", new_y="NEXT")


def proof_filename(issued_on: dt.date | None = None) -> str:
    """An ASCII file name for the download."""
    return f"cehours-proof-{(issued_on or today_in_business_tz()).isoformat()}.pdf"
