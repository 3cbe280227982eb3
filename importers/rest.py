"""The paged REST JSON adapter: one ``requests.Session`` per platform, retries, and paging.

Every request has a connect and a read timeout. 5xx answers, 429 (honouring ``Retry-After``),
timeouts, dropped connections and pages that cannot be read (bad JSON, cut short, out of order,
a page repeated) are retried with exponential backoff and jitter, within an overall time budget
for the run. Anything else the platform refuses (401, 404, ...) stops the run at once: retrying
would not fix it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from importers.config import AuthType, PagingConfig, PagingStyle, PullConfig, RetryPolicy
from importers.errors import (
    BudgetExceededError,
    MalformedPageError,
    PlatformError,
    PlatformUnavailableError,
)
from ledger.values.texts import unicode_problem

log = logging.getLogger(__name__)
T = TypeVar("T")
USER_AGENT = "cehours-sync/1"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a platform's records, and the cursor to save once the page is committed."""

    number: int
    rows: list[dict[str, Any]]
    cursor: dict[str, Any]


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def json_path(document: Any, path: str) -> Any:
    """The value at a dotted path (``data.list``) of a JSON document, or ``None``."""
    value = document
    for part in path.split(".") if path else ():
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class PlatformClient:
    """HTTP to one platform: a session with its credentials, timeouts, retries and a budget."""

    def __init__(
        self,
        config: PullConfig,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Open a session for ``config``'s platform.

        Raises:
            CredentialsError: a credential's environment variable is not set.
        """
        self.url = config.url
        self.retry = retry or config.retry
        self.timeout = (config.connect_timeout, config.read_timeout)
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._deadline = clock() + self.retry.budget_seconds
        self._where = urlsplit(config.url).path or "/"
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self.session.headers.update(config.headers)
        self.params = dict(config.params)
        if config.auth.type == AuthType.TOKEN:
            self.session.headers[config.auth.header] = config.auth.prefix + config.auth.token()
        elif config.auth.type == AuthType.BASIC:
            self.session.auth = config.auth.basic()
        self.requests_made = 0
        self.retries = 0

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _remaining(self) -> float:
        return self._deadline - self._clock()

    def _get(self, params: Mapping[str, str], remaining: float) -> requests.Response:
        """One GET, neither of whose timeouts outlasts the run's remaining time budget."""
        return self.session.get(
            self.url,
            params={**self.params, **params},
            timeout=(min(self.timeout[0], remaining), min(self.timeout[1], remaining)),
        )

    def get_page(self, params: Mapping[str, str], read: Callable[[Any], T]) -> T:
        """GET the platform with ``params`` and hand the decoded JSON to ``read``.

        ``read`` raises :class:`MalformedPageError` for a page it cannot use; that is retried
        like a 5xx, since a cut-short or repeated page is usually the platform under load.
        JSON numbers are decoded as ``Decimal``: hours never pass through a binary float.

        Raises:
            PlatformError: a 4xx other than 429.
            PlatformUnavailableError: still failing after every attempt.
            BudgetExceededError: the run's time budget ran out.
        """
        attempt = 0
        while True:
            remaining = self._remaining()
            if remaining <= 0:
                raise BudgetExceededError("the sync's time budget ran out")
            wait: float | None = None
            self.requests_made += 1
            try:
                response = self._get(params, remaining)
            except requests.Timeout:
                problem = "timed out"
            except requests.RequestException as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                elif status >= 400:
                    raise PlatformError(f"{self._where}: the platform answered HTTP {status}")
                else:
                    try:
                        document = json.loads(response.content, parse_float=Decimal)
                        return read(document)
                    except MalformedPageError as exc:
                        problem = str(exc)
                    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                        problem = "the page is not valid JSON"
            attempt += 1
            if attempt >= self.retry.attempts:
                raise PlatformUnavailableError(
                    f"{self._where}: gave up after {attempt} attempts; last: {problem}"
                )
            delay = wait if wait is not None else self.retry.backoff(attempt, self._rand())
            if delay > self._remaining():
                raise BudgetExceededError(
                    f"{self._where}: waiting {delay:.1f}s more ({problem}) would exceed the"
                    " sync's time budget"
                )
            self.retries += 1
            log.warning("%s: %s; retry %d in %.2fs", self._where, problem, attempt, delay)
            self._sleep(delay)


class RestAdapter:
    """A paged REST JSON platform, read from a saved cursor onwards, page by page."""

    def __init__(self, config: PullConfig, client: PlatformClient) -> None:
        """Read ``config``'s platform through ``client``."""
        self.config = config
        self.paging: PagingConfig = config.paging
        self.client = client

    def _rows(self, document: Any) -> list[dict[str, Any]]:
        rows = json_path(document, self.paging.records_path)
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise MalformedPageError(f"no list of records at {self.paging.records_path!r}")
        if self.paging.count_path:
            count = json_path(document, self.paging.count_path)
            if count is not None and count != len(rows):
                raise MalformedPageError(f"the page says {count} records but holds {len(rows)}")
        return [dict(r) for r in rows]

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """Yield pages from ``cursor`` on. Each page's ``cursor`` is where the next run starts.

        The generator fetches the next page only when asked, after the caller has committed
        the previous one, so the saved cursor never runs ahead of the ledger.

        Raises:
            PlatformError, PlatformUnavailableError, BudgetExceededError: as the client does.
        """
        if self.paging.style == PagingStyle.CURSOR:
            return self._cursor_pages(cursor)
        return self._since_pages(cursor)

    def _cursor_pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        paging = self.paging
        token = (cursor or {}).get("cursor")
        for number in range(1, paging.max_pages + 1):

            def read(document: Any, token: Any = token) -> tuple[list[dict[str, Any]], Any]:
                rows = self._rows(document)
                following = json_path(document, paging.next_path)
                if following is not None and not isinstance(following, str | int | Decimal):
                    raise MalformedPageError(f"the next cursor at {paging.next_path!r} is odd")
                if isinstance(following, str) and unicode_problem(following) is not None:
                    raise MalformedPageError(
                        f"the next cursor at {paging.next_path!r} is not valid text"
                    )
                if rows and following is not None and str(following) == str(token):
                    raise MalformedPageError("the platform repeated a page (same next cursor)")
                return rows, following

            params = {paging.page_size_param: str(paging.page_size)}
            if token is not None:
                params[paging.cursor_param] = str(token)
            rows, following = self.client.get_page(params, read)
            nxt = str(following) if following not in (None, "") else None
            # At the end of the feed keep the last token: the next run asks for what came after.
            yield Page(number, rows, {"cursor": nxt if nxt is not None else token})
            if nxt is None or not rows:
                return
            token = nxt

    def _since_pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        paging = self.paging
        field = paging.updated_field
        assert field is not None
        state = dict(cursor or {})
        since: str | None = state.get("since", paging.initial_since)
        page = int(state.get("page", paging.first_page))
        # (since, keys) of the previous page, to tell a repeated page from the intended overlap.
        previous: tuple[str | None, list[Any]] | None = None
        for number in range(1, paging.max_pages + 1):

            def read(
                document: Any, since: str | None = since, previous: Any = previous
            ) -> list[dict[str, Any]]:
                rows = self._rows(document)
                raw_stamps = [r.get(field) for r in rows]
                if not all(isinstance(s, str) and unicode_problem(s) is None for s in raw_stamps):
                    raise MalformedPageError(f"a record has no text {field!r} update time")
                stamps = [str(s) for s in raw_stamps]
                if since is not None and any(s < since for s in stamps):
                    raise MalformedPageError("a record older than updated_since (a stale page)")
                if stamps != sorted(stamps):
                    raise MalformedPageError(f"records are not in {field!r} order")
                keys = [self.config.mapping.value(r, "external_id") for r in rows]
                if rows and previous == (since, keys):
                    raise MalformedPageError("the platform repeated a page")
                return rows

            params = {paging.page_param: str(page), paging.page_size_param: str(paging.page_size)}
            if since is not None:
                params[paging.since_param] = since
            rows = self.client.get_page(params, read)
            previous = (since, [self.config.mapping.value(r, "external_id") for r in rows])
            full = len(rows) >= paging.page_size
            last = str(rows[-1][field]) if rows else since
            # Keyset paging on the update time: the next page starts at the last time seen
            # (inclusive, so records sharing it come again as duplicates, never missed). Page
            # numbers are used only while a whole page shares one update time.
            if last is not None and last != since:
                since, page = last, paging.first_page
            elif full:
                page += 1
            next_cursor = {"since": since, "page": page if full else paging.first_page}
            yield Page(number, rows, next_cursor)
            if not full:
                return
