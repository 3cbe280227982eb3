"""Issue 16, item 6: no English sentence written by the service where a Chinese reader reads.
English is a gloss (``class="en"``) beside the Chinese, never instead of it, on the pages the
compliance test does not cover: sign-in, the development provider, errors, verification."""

from __future__ import annotations

import requests

from api.pages.base import split_gloss
from tests.e2e.pages.reading import english_sentences, shown_text
from tests.e2e.pages.site import Site, csrf

HTML = {"Accept": "text/html"}


def _issued(site: Site) -> dict[str, str]:
    answer = requests.post(
        f"{site.base}/v1/me/attestations",
        json={"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers=site.bearer(),
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_sign_in_error_and_verification_pages_read_chinese_first(site: Site) -> None:
    browser = requests.Session()
    pages: dict[str, str] = {}
    for path in ("/sign-in", "/dev/sign-in", "/verify", "/no/such/page"):
        pages[path] = browser.get(f"{site.base}{path}", headers=HTML, timeout=10).text
    form = pages["/sign-in"]
    pages["sign-in with a bad token"] = browser.post(
        f"{site.base}/sign-in", data={"csrf_token": csrf(form), "token": "x.y.z"}, timeout=10
    ).text
    dev = pages["/dev/sign-in"]
    pages["dev sign-in with a bad number"] = browser.post(
        f"{site.base}/dev/sign-in",
        data={"csrf_token": csrf(dev), "id_number": "110101199003070000", "name": "某"},
        timeout=10,
    ).text
    pages["a mistyped code"] = browser.get(
        f"{site.base}/verify/code", params={"code": "ABCD-EFGH-JKMN"}, timeout=10
    ).text
    issued = _issued(site)
    pages["a valid proof"] = browser.get(f"{site.base}/verify/{issued['jti']}", timeout=10).text
    me = site.signed_in()
    for path in ("/me/compliance?profile=nope", "/me/compliance?as_of=2024-13-40"):
        pages[path] = me.get(f"{site.base}{path}", headers=HTML, timeout=10).text
    for where, text in pages.items():
        assert "<html" in text, where
        assert english_sentences(text) == [], where
    # The messages are there, in Chinese, with their English beside them.
    assert "没有这个规则" in shown_text(pages["/me/compliance?profile=nope"])
    assert "No such profile" in pages["/me/compliance?profile=nope"]
    assert "身份令牌无效" in shown_text(pages["sign-in with a bad token"])


def test_a_message_splits_into_its_chinese_and_its_english_gloss() -> None:
    assert split_gloss("没有这个规则。No such profile.") == ("没有这个规则。", "No such profile.")
    assert split_gloss("日期格式应为 YYYY-MM-DD。The date must be YYYY-MM-DD.") == (
        "日期格式应为 YYYY-MM-DD。",
        "The date must be YYYY-MM-DD.",
    )
    # An English detail from deeper down is all gloss: the page's own Chinese says what happened.
    assert split_gloss("token has expired") == ("", "token has expired")
    assert split_gloss("只有中文。") == ("只有中文。", "")
    assert split_gloss(None) == ("", "")
