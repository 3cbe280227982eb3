"""Reading a proof PDF back as an office would: its text (pdftotext) and its QR code (the page
rendered by pdftoppm, decoded by zbarimg). Debian's poppler-utils and zbar-tools."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdf_text(pdf: Path) -> str:
    """The PDF's text, laid out as on paper."""
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def qr_on_first_page(pdf: Path, folder: Path, name: str = "page", dpi: int = 150) -> str:
    """What the QR code on the first page says; the page is kept as ``folder/name.png``."""
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf), str(folder / name)],
        check=True,
    )
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(folder / f"{name}.png")],
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()
