"""Driving the provider's own pages with requests: its login form, its consent, its logout."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import requests

_FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def submit(
    browser: requests.Session, page: requests.Response, fields: dict[str, str]
) -> requests.Response:
    """Submit the page's first form (its hidden fields and ``fields``), redirects not followed."""
    found = _FORM.search(page.text)
    assert found is not None, f"no form on {page.url}: {page.text[:300]}"
    data = dict(_HIDDEN.findall(found.group(2)))
    data.update(fields)
    return browser.post(
        urljoin(page.url, found.group(1)), data=data, allow_redirects=False, timeout=10
    )


def follow_until(
    browser: requests.Session, answer: requests.Response, stop: str
) -> requests.Response | str:
    """Follow redirects; the first location starting with ``stop`` is returned unvisited."""
    while answer.is_redirect:
        location = urljoin(answer.url, answer.headers["Location"])
        if location.startswith(stop):
            return location
        answer = browser.get(location, allow_redirects=False, timeout=10)
    return answer


def to_callback(browser: requests.Session, base: str, login: str = "zhangsan") -> str:
    """Press 登录, log in and consent at the provider: the callback URL it sends us back to."""
    answer = browser.get(f"{base}/sign-in/oidc", allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    login_page = follow_until(browser, answer, f"{base}/")
    assert isinstance(login_page, requests.Response)
    after_login = follow_until(
        browser, submit(browser, login_page, {"login": login, "password": "any"}), f"{base}/"
    )
    if isinstance(after_login, str):
        return after_login
    consented = follow_until(browser, submit(browser, after_login, {}), f"{base}/")
    assert isinstance(consented, str), consented.text[:500]
    return consented


def sign_in(browser: requests.Session, base: str, login: str = "zhangsan") -> requests.Response:
    """The whole sign-in; the page the browser lands on."""
    return browser.get(to_callback(browser, base, login), timeout=10)
