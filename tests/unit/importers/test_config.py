"""A source's pull configuration: what is accepted, what is refused, and why."""

from __future__ import annotations

from typing import Any

import pytest

from importers.config import AuthType, PagingStyle, RetryPolicy, parse_pull_config
from importers.errors import ConfigError, CredentialsError

MAPPING = {
    "fields": {
        "external_id": "jlid",
        "id_number": "sfzh",
        "name": "xm",
        "category": "kclb",
        "hours": "xs",
        "completed_on": "wcrq",
    }
}


def config(**changes: Any) -> dict[str, Any]:
    return {"url": "https://jxjy.example.cn/api/xsjl", "mapping": MAPPING, **changes}


def test_a_minimal_configuration_gets_safe_defaults() -> None:
    pull = parse_pull_config(config())

    assert pull.auth.type == "none"
    assert (pull.paging.style, pull.paging.page_size) == ("cursor", 1000)
    assert (pull.connect_timeout, pull.read_timeout) == (5.0, 30.0)
    assert pull.schedule is None


def test_credentials_come_from_the_environment_variable_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pull = parse_pull_config(
        config(auth={"type": "basic", "username_env": "QZ_USER", "password_env": "QZ_PASS"})
    )
    monkeypatch.setenv("QZ_USER", "jxjy")
    monkeypatch.setenv("QZ_PASS", "secret")

    assert pull.auth.basic() == ("jxjy", "secret")


def test_an_unset_credential_variable_is_named_and_its_value_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pull = parse_pull_config(config(auth={"type": "token", "token_env": "QZ_TOKEN"}))
    monkeypatch.delenv("QZ_TOKEN", raising=False)

    with pytest.raises(CredentialsError, match="QZ_TOKEN"):
        pull.auth.token()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "ftp://x"}, "url must be"),
        ({"auth": {"type": "oauth"}}, "auth.type"),
        ({"auth": {"type": "token"}}, "token_env"),
        ({"auth": {"type": "token", "token": "abc"}}, "unknown keys token"),
        ({"paging": {"style": "offset"}}, "paging.style"),
        ({"paging": {"style": "updated_since"}}, "updated_field"),
        ({"paging": {"page_size": 5000}}, "page_size"),
        ({"schedule": {"cron": "daily"}}, "five fields"),
        ({"schedule": {"interval_minutes": 5, "cron": "0 2 * * *"}}, "exactly one"),
        ({"retry": {"attempts": 0}}, "retry.attempts"),
        ({"timeouts": {"read": -1}}, "timeouts.read"),
        ({"password": "x"}, "unknown configuration keys: password"),
    ],
)
def test_bad_configurations_are_refused_with_the_reason(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_pull_config(config(**changes))


def test_no_configuration_means_the_source_is_push_only() -> None:
    with pytest.raises(ConfigError, match="no pull configuration"):
        parse_pull_config(None)


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=10)

    assert [policy.backoff(n, 0.999999) for n in (1, 2, 3, 4, 5)] == pytest.approx(
        [1, 2, 4, 8, 10], rel=1e-5
    )
    assert policy.backoff(3, 0.0) == 2


def test_the_configurations_words_are_unchanged() -> None:
    # Sources' stored pull configurations hold these words.
    assert [a.value for a in AuthType] == ["none", "token", "basic"]
    assert [p.value for p in PagingStyle] == ["cursor", "updated_since"]
