"""Reading a page as a Chinese reader does: its text without the English glosses (``.en``), and
the text of the elements that carry a given attribute."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements without an end tag: they never enclose text.
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
# Where no reader sees text.
_HIDDEN = {"script", "style", "head"}
# Three or more Latin words in a row: a sentence (or a phrase) in English.
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,:;/]+[A-Za-z][A-Za-z'-]*){2,}")


class _Reader(HTMLParser):
    def __init__(self, marked: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.marked = marked
        self.stack: list[tuple[str, bool, str | None]] = []  # (tag, gloss or hidden, mark)
        self.shown: list[str] = []
        self.items: list[tuple[str, list[str]]] = []
        self._open_items: list[tuple[int, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        hidden = "en" in classes or tag in _HIDDEN
        mark = found.get(self.marked) if self.marked else None
        self.stack.append((tag, hidden, mark))
        if mark is not None:
            text: list[str] = []
            self.items.append((mark, text))
            self._open_items.append((len(self.stack), text))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack:
            open_tag, _, _ = self.stack.pop()
            while self._open_items and self._open_items[-1][0] > len(self.stack):
                self._open_items.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if any(hidden for _, hidden, _ in self.stack):
            return
        self.shown.append(data)
        for _, text in self._open_items:
            text.append(data)


def shown_text(html: str) -> str:
    """The page's text a Chinese reader reads: no English gloss, script or style."""
    reader = _Reader(None)
    reader.feed(html)
    return " ".join(" ".join(reader.shown).split())


def english_sentences(html: str) -> list[str]:
    """Runs of three or more English words outside the glosses."""
    return ENGLISH.findall(shown_text(html))


def marked(html: str, attribute: str) -> list[tuple[str, str]]:
    """(value, shown text) of every element carrying ``attribute``, in page order."""
    reader = _Reader(attribute)
    reader.feed(html)
    return [(mark, " ".join(" ".join(text).split())) for mark, text in reader.items]
