"""The three hour categories (科目) and their labels in Chinese and in English.

These are the labels the service itself writes (pages, proofs, the CLI). Platforms label their
categories in their own ways; importers map those labels onto the keys first
(:data:`importers.mapping.PLATFORM_CATEGORY_LABELS`)."""

from __future__ import annotations

import enum


class Category(enum.StrEnum):
    """The three hour categories (科目)."""

    SPECIALISED = "specialised"  # 专业科目
    INDUSTRY_PUBLIC = "industry_public"  # 行业公需科目
    GENERAL_PUBLIC = "general_public"  # 一般公需科目


CATEGORY_LABELS_ZH = {
    Category.SPECIALISED: "专业科目",
    Category.INDUSTRY_PUBLIC: "行业公需科目",
    Category.GENERAL_PUBLIC: "一般公需科目",
}


CATEGORY_LABELS_EN = {
    Category.SPECIALISED: "Specialised",
    Category.INDUSTRY_PUBLIC: "Industry public",
    Category.GENERAL_PUBLIC: "General public",
}


def parse_category(value: object) -> Category:
    """Parse a category key.

    Raises:
        ValueError: naming the allowed values.
    """
    try:
        return Category(str(value)) if isinstance(value, str) else Category("")
    except ValueError:
        allowed = ", ".join(c.value for c in Category)
        raise ValueError(f"category must be one of {allowed}") from None
