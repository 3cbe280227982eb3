"""The three hour categories."""

from __future__ import annotations

import pytest

from ledger.values.categories import Category, parse_category


def test_categories_are_the_three_keys() -> None:
    assert parse_category("general_public") is Category.GENERAL_PUBLIC
    with pytest.raises(ValueError, match="one of specialised"):
        parse_category("专业科目")
