"""The printable proof (学时证明): a PDF rendering of one signed attestation, with a QR code.

The figures printed come from the attestation's claims, so the paper and the verification page
its QR code leads to state the same; the appendix lists the entries the attestation counted (the
ids its ``entries`` claim names; entries never change). Beside the QR code is the short
verification code a person can type at ``/verify`` (:mod:`ledger.attestations.codes`). Chinese
text is set in Noto Sans CJK SC, embedded (subset) from Debian's ``fonts-noto-cjk``;
``CEHOURS_PROOF_FONT`` names another OpenType or TrueType file (``path`` or ``path#index`` for a
collection).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import qrcode
from fpdf import FPDF
from fpdf.fonts import FontFace

from ledger.attestations.codes import format_code
from ledger.attestations.paper import CountedCourse
from ledger.entries.sources import SOURCE_KIND_LABELS_ZH
from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.dates import BUSINESS_TZ, today_in_business_tz
from ledger.values.hours import format_hours

FONT_ENV = "CEHOURS_PROOF_FONT"
# Index 2 of the collection is the Simplified Chinese face (JP, KR, SC, TC, HK).
DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2"
CATEGORY_ORDER = tuple(Category)
_GREY = 90


class ProofFontError(RuntimeError):
    """The CJK font for the proof is missing (install ``fonts-noto-cjk``)."""


@dataclass(frozen=True, slots=True)
class ProofData:
    """What one proof states: the attestation's claims, where and how to verify it, who issued
    it and the courses it counted."""

    claims: Mapping[str, Any]
    profile_title: str
    verify_url: str
    code: str
    issuer_name: str
    courses: Sequence[CountedCourse] = field(default_factory=tuple)

    @property
    def jti(self) -> str:
        """The attestation's id."""
        return str(self.claims["jti"])

    @property
    def issued_on(self) -> dt.date:
        """The day it was issued, in China Standard Time."""
        return business_date(self.claims["iat"])


def business_date(timestamp: Any) -> dt.date:
    """The date (Asia/Shanghai) of a JWT time (seconds since the epoch)."""
    return dt.datetime.fromtimestamp(int(timestamp), dt.UTC).astimezone(BUSINESS_TZ).date()


def business_time(timestamp: Any) -> str:
    """A JWT time as ``YYYY-MM-DD HH:MM`` in Asia/Shanghai (no seconds, no microseconds)."""
    moment = dt.datetime.fromtimestamp(int(timestamp), dt.UTC).astimezone(BUSINESS_TZ)
    return moment.strftime("%Y-%m-%d %H:%M")


def of_record_text(claims: Mapping[str, Any], courses: Sequence[CountedCourse]) -> str:
    """Which platform's hours are of record for this person (R6), in Chinese: the kind the
    evaluation chose and the platforms of that kind whose entries counted."""
    policy = claims.get("source_policy")
    if not isinstance(policy, Mapping):
        return "—"
    kind = str(policy.get("hours_of_record", ""))
    label = SOURCE_KIND_LABELS_ZH.get(kind, kind)
    names = list(dict.fromkeys(c.source_name for c in courses if c.source_kind == kind))
    text = f"{label}({'、'.join(names)})" if names else label
    if policy.get("industry_platform"):
        return f"{text}:所属行业由省行业平台管理,以其登记学时为准"
    return f"{text}:以其登记学时为准"


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
    code_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("cjk", size=8)
        self.set_text_color(110)
        self.cell(
            0,
            4.5,
            "本证明依据签名证书生成;真伪与当前状态以扫码或输入核验码核验的结果为准。",
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.cell(0, 4.5, f"核验码 {self.code_text} · 第 {self.page_no()}/{{nb}} 页", align="C")


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
    pdf.code_text = format_code(data.code)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("cjk", "", path, collection_font_number=index)
    pdf.set_title("继续教育学时证明")
    pdf.set_author(data.issuer_name)
    pdf.add_page()
    _title(pdf)
    _facts(pdf, data)
    _totals(pdf, data.claims)
    _rules(pdf, data.claims)
    _where_to_verify(pdf, data)
    _courses(pdf, data.courses)
    return bytes(pdf.output())


def _title(pdf: FPDF) -> None:
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 11, "继续教育学时证明", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.set_text_color(_GREY)
    pdf.cell(
        0, 6, "Certificate of Continuing Education Hours", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_text_color(0)
    pdf.ln(2)


def _facts(pdf: FPDF, data: ProofData) -> None:
    """Who, which period, which profile, whose hours, who issued it and until when."""
    claims = data.claims
    pdf.set_font("cjk", size=11)
    facts = [
        ("姓名 Name", str(claims.get("name", ""))),
        ("身份证号 ID number", str(claims.get("id_number_masked", ""))),
        ("统计期间 Period", period_text(claims)),
        ("依据 Profile", data.profile_title),
        ("学时认定平台 Of record", of_record_text(claims, data.courses)),
        ("开具单位 Issued by", data.issuer_name),
        ("开具日期 Issued", business_time(claims["iat"])),
        ("有效期至 Valid until", f"{business_time(claims['exp'])}(过期后请重新开具)"),
    ]
    for label, value in facts:
        pdf.set_text_color(_GREY)
        pdf.cell(48, 7, label)
        pdf.set_text_color(0)
        pdf.multi_cell(0, 7, value, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _totals(pdf: FPDF, claims: Mapping[str, Any]) -> None:
    """The hours counted, a row per year, a column per category."""
    pdf.set_font("cjk", size=13)
    pdf.cell(0, 9, "学时合计(计入的学时)Hours counted", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10.5)
    widths = (30.0, 42.0, 42.0, 42.0, 34.0)
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
    pdf.ln(3)


def _rules(pdf: FPDF, claims: Mapping[str, Any]) -> None:
    """The result, and each rule's required, actual and missing hours."""
    pdf.set_font("cjk", size=13)
    verdict = "符合 Compliant" if claims.get("compliant") else "不符合 Not compliant"
    pdf.cell(0, 9, f"核验结果 Result:{verdict}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10.5)
    rule_widths = (82.0, 27.0, 27.0, 27.0, 27.0)
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
    pdf.ln(5)


def _where_to_verify(pdf: FPDF, data: ProofData) -> None:
    """The QR code of the verification page, the code to type, the address and the number."""
    if pdf.get_y() > pdf.h - 20 - 46:
        pdf.add_page()
    top = pdf.get_y()
    pdf.image(_qr_png(data.verify_url), x=pdf.l_margin, y=top, w=42, h=42)
    left = pdf.l_margin + 48
    pdf.set_xy(left, top + 1)
    pdf.set_font("cjk", size=10.5)
    pdf.cell(0, 6, "核验码 Verification code", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(left)
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 11, format_code(data.code), new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(left)
    pdf.set_font("cjk", size=9.5)
    base = data.verify_url.split("/verify/", 1)[0]
    pdf.multi_cell(
        0,
        5.5,
        f"扫码,或在 {base}/verify 输入核验码\nScan, or type the code at {base}/verify",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_x(left)
    pdf.set_text_color(_GREY)
    pdf.multi_cell(0, 5.5, data.verify_url, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(left)
    pdf.multi_cell(0, 5.5, f"证明编号 No.: {data.jti}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_y(max(pdf.get_y(), top + 44))


def _courses(pdf: FPDF, courses: Sequence[CountedCourse]) -> None:
    """Appendix: every entry counted, one row each; the table breaks across pages with its
    heading repeated."""
    if pdf.get_y() > pdf.h - 20 - 40:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("cjk", size=13)
    pdf.cell(
        0, 9, f"附:计入的课程 Courses counted({len(courses)} 项)", new_x="LMARGIN", new_y="NEXT"
    )
    if not courses:
        pdf.set_font("cjk", size=10.5)
        pdf.cell(0, 7, "无 None", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font("cjk", size=9)
    heading = FontFace(fill_color=(235, 240, 248))
    with pdf.table(
        col_widths=(22, 62, 62, 22, 14),
        line_height=5.5,
        headings_style=heading,
        text_align=("CENTER", "LEFT", "LEFT", "CENTER", "RIGHT"),
        repeat_headings=1,
    ) as table:
        table.row(["日期 Date", "课程 Course", "平台 Platform", "科目", "学时"])
        for c in courses:
            title = c.course_title or c.course_code or "—"
            table.row(
                [
                    c.completed_on.isoformat(),
                    title,
                    c.source_name,
                    CATEGORY_LABELS_ZH[Category(c.category)],
                    format_hours(c.hours),
                ]
            )


def proof_filename(issued_on: dt.date | None = None) -> str:
    """An ASCII file name for the download."""
    return f"cehours-proof-{(issued_on or today_in_business_tz()).isoformat()}.pdf"
