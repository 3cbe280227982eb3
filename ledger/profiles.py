"""Rule profiles: versioned CE requirements as data files, strictly validated and digested.

A profile is a YAML (or JSON) document: which years count (the window), up to which date (the
as-of cut-off), which platform's hours are of record (the source policy, R6) and the rules.
Operators add next year's profile as a file; no code changes. ``docs/profiles.md`` explains the
format; :func:`parse_profile` reports every mistake at once, each with its path in the file.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ledger.canonical import sha256_hex
from ledger.errors import ProfileError, UnknownProfileError
from ledger.sources import SOURCE_KINDS
from ledger.values import Category, format_hours

BUILTIN_DIR = Path(__file__).resolve().parent / "profiles"
TEMPLATES_DIR = BUILTIN_DIR / "templates"
PROFILES_DIR_ENV = "CEHOURS_PROFILES_DIR"
PLACEHOLDER = "TODO"

_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_HOURS = Decimal("10000")
ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)
# "Public" (公需) in a notice means both public-need categories unless it names one (RULES.md).
CATEGORY_GROUPS: dict[str, tuple[Category, ...]] = {
    "all": ALL_CATEGORIES,
    "public": (Category.INDUSTRY_PUBLIC, Category.GENERAL_PUBLIC),
}


class RuleKind:
    """What a rule does with its figure."""

    MINIMUM = "minimum"  # fails when the hours are below ``hours``
    INFORMATIONAL = "informational"  # reported, never fails (R8: bonus hours)


class Per:
    """Over what a rule's figure is taken."""

    YEAR = "year"  # each year of the window separately; every year must pass
    WINDOW = "window"  # the window's years together


class Cutoff:
    """Which completion dates count relative to the as-of date."""

    ON_OR_BEFORE = "on_or_before"
    BEFORE = "before"


class IndustryManaged:
    """How the evaluator decides that a person's industry is managed on the industry platform."""

    HAS_ENTRIES = "has_entries"  # any counting-eligible credit from such a platform in the window
    ON_REQUEST = "on_request"  # only when the caller says so


@dataclass(frozen=True, slots=True)
class Rule:
    """One requirement (or informational figure) of a profile."""

    id: str
    kind: str
    categories: tuple[Category, ...]
    of: str  # as written: "all", "public" or a category list joined by "+"
    per: str
    hours: Decimal | None
    label_zh: str | None = None
    label_en: str | None = None


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``per_year`` hours of ``category`` count in any one year."""

    category: Category
    per_year: Decimal


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """R6: whose hours are of record.

    Hours come from sources of kind ``hours_of_record`` (the city platform), unless the person's
    industry is managed on a platform of kind ``industry_platform``, whose hours then prevail.
    """

    hours_of_record: str
    industry_platform: str | None
    industry_managed: str


@dataclass(frozen=True, slots=True)
class Profile:
    """A validated, versioned rule profile. ``digest`` is SHA-256 over :meth:`content`."""

    id: str
    version: int
    title_zh: str
    title_en: str
    description: str | None
    notice: Mapping[str, str]
    application_year: int | None
    window_years: tuple[int, ...] | None  # fixed calendar years, or
    window_offsets: tuple[int, ...] | None  # offsets from the application year
    cutoff: str
    default_as_of: dt.date | None
    source_policy: SourcePolicy
    caps: tuple[Cap, ...]
    rules: tuple[Rule, ...]
    digest: str
    origin: str | None = None

    @property
    def ref(self) -> str:
        """``id@version``: how a caller names exactly this version."""
        return f"{self.id}@{self.version}"

    def window_for(self, application_year: int) -> tuple[int, ...]:
        """The calendar years of the window for an application year."""
        if self.window_years is not None:
            return self.window_years
        assert self.window_offsets is not None
        return tuple(application_year + offset for offset in self.window_offsets)

    def content(self) -> dict[str, Any]:
        """The profile in normalised form: what the digest covers and what the API shows."""
        return _content(self)

    def summary(self) -> dict[str, Any]:
        """Id, version, digest, title and description (the profile list)."""
        return {
            "id": self.id,
            "version": self.version,
            "digest": self.digest,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "description": self.description,
            "notice": dict(self.notice),
        }


def _content(p: Profile) -> dict[str, Any]:
    window: dict[str, Any] = (
        {"years": list(p.window_years)}
        if p.window_years is not None
        else {"relative": list(p.window_offsets or ())}
    )
    policy: dict[str, Any] = {"hours_of_record": p.source_policy.hours_of_record}
    if p.source_policy.industry_platform is not None:
        policy["industry_platform"] = p.source_policy.industry_platform
        policy["industry_managed"] = p.source_policy.industry_managed
    as_of: dict[str, Any] = {"counts": p.cutoff}
    if p.default_as_of is not None:
        as_of["default"] = p.default_as_of.isoformat()
    rules = []
    for r in p.rules:
        rule: dict[str, Any] = {
            "id": r.id,
            "kind": r.kind,
            "of": r.of,
            "categories": [c.value for c in r.categories],
            "per": r.per,
        }
        if r.hours is not None:
            rule["hours"] = format_hours(r.hours)
        if r.label_zh or r.label_en:
            rule["label"] = {"zh": r.label_zh, "en": r.label_en}
        rules.append(rule)
    document: dict[str, Any] = {
        "id": p.id,
        "version": p.version,
        "title": {"zh": p.title_zh, "en": p.title_en},
        "description": p.description,
        "notice": dict(p.notice),
        "application_year": p.application_year,
        "window": window,
        "as_of": as_of,
        "source_policy": policy,
        "rules": rules,
    }
    if p.caps:
        document["caps"] = [
            {"category": c.category.value, "per_year": format_hours(c.per_year)} for c in p.caps
        ]
    return {k: v for k, v in document.items() if v is not None}


# --- reading files ----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML with two fixes: decimals stay exact, and a repeated key is an error."""


def _decimal_constructor(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # Hours must never pass through a binary float: keep the text YAML saw, as a Decimal.
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def _mapping_constructor(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)
_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_constructor,
)


def load_document(text: str, *, origin: str = "<text>") -> Any:
    """Parse YAML (JSON is YAML too) into plain values, decimals kept exact.

    Raises:
        ProfileError: the text is not well-formed YAML, or repeats a key.
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError({"_file": [f"{origin} is not valid YAML{where}: {problem}"]}) from None


def load_profile_file(path: str | os.PathLike[str]) -> Profile:
    """Load and validate one profile file.

    Raises:
        ProfileError: listing every mistake with its path (``rules[1].hours``).
        OSError: the file cannot be read.
    """
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    return parse_profile(load_document(text, origin=file.name), origin=str(file))


# --- validation -------------------------------------------------------------------------------


class _Check:
    """Collects every mistake, keyed by path, instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.unfilled: set[str] = set()

    def add(self, path: str, message: str) -> None:
        # A template placeholder explains itself; a second complaint about its shape is noise.
        if path in self.unfilled:
            return
        self.errors.setdefault(path or "_profile", []).append(message)

    def mapping(
        self,
        value: Any,
        path: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, "must be a mapping (key: value lines)")
            return None
        required, optional = tuple(required), tuple(optional)
        for key in required:
            if key not in value or value[key] is None:
                self.add(_join(path, key), "is required")
        known = set(required) | set(optional)
        for key in value:
            if key not in known:
                allowed = ", ".join(sorted(known))
                self.add(_join(path, str(key)), f"is not a known field (known: {allowed})")
        return value

    def text(self, value: Any, path: str, *, limit: int = 500) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, "must be a non-empty text")
            return None
        if len(value) > limit:
            self.add(path, f"must be at most {limit} characters")
            return None
        return value.strip()

    def integer(self, value: Any, path: str, *, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be a whole number")
            return None
        if not low <= value <= high:
            self.add(path, f"must be between {low} and {high}")
            return None
        return value

    def hours(self, value: Any, path: str) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool):
            self.add(path, 'must be hours such as 90 or "18.5"')
            return None
        try:
            hours = Decimal(value) if isinstance(value, int | str | Decimal) else None
        except InvalidOperation:
            hours = None
        if hours is None or not hours.is_finite():
            self.add(path, 'must be hours such as 90 or "18.5"')
            return None
        if hours < 0 or hours > MAX_HOURS:
            self.add(path, f"must be between 0 and {MAX_HOURS}")
            return None
        if hours != hours.quantize(Decimal("0.1")):
            self.add(path, "may have at most one decimal place")
            return None
        return hours.quantize(Decimal("0.1"))

    def choice(self, value: Any, path: str, allowed: Iterable[str]) -> str | None:
        if value is None:
            return None
        allowed = tuple(allowed)
        if value not in allowed:
            self.add(path, f"must be one of {', '.join(allowed)}")
            return None
        return str(value)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _placeholders(value: Any, path: str, check: _Check) -> None:
    """A template's ``TODO`` values must all be filled in before it is a profile."""
    if isinstance(value, str) and PLACEHOLDER in value:
        check.add(path, f"still holds the template placeholder {PLACEHOLDER}: fill it in")
        check.unfilled.add(path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _placeholders(item, _join(path, str(key)), check)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _placeholders(item, _join(path, i), check)


def parse_profile(document: Any, *, origin: str | None = None) -> Profile:
    """Validate a profile document (as loaded from YAML or JSON) and build the :class:`Profile`.

    Raises:
        ProfileError: listing every mistake, keyed by its path in the document.
    """
    check = _Check()
    _placeholders(document, "", check)
    doc = check.mapping(
        document,
        "",
        required=("id", "version", "title", "notice", "window", "source_policy", "rules"),
        optional=("description", "application_year", "as_of", "caps"),
    )
    if doc is None:
        raise ProfileError(check.errors)

    profile_id = doc.get("id")
    if profile_id is not None and (
        not isinstance(profile_id, str) or not _ID.fullmatch(profile_id)
    ):
        check.add("id", "must be 2-64 lower-case letters, digits or hyphens, e.g. r1-annual-90")
        profile_id = None
    version = check.integer(doc.get("version"), "version", low=1, high=1_000_000)

    title_zh = title_en = None
    title = doc.get("title")
    if title is not None and check.mapping(title, "title", required=("zh", "en")) is not None:
        title_zh = check.text(title.get("zh"), "title.zh", limit=200)
        title_en = check.text(title.get("en"), "title.en", limit=200)
    description = check.text(doc.get("description"), "description", limit=2000)

    notice: dict[str, str] = {}
    raw_notice = doc.get("notice")
    if raw_notice is not None and check.mapping(
        raw_notice, "notice", required=("document",), optional=("seed", "clause", "url", "issued")
    ):
        for key in ("document", "seed", "clause", "url", "issued"):
            value = raw_notice.get(key)
            if isinstance(value, dt.date):
                value = value.isoformat()
            text = check.text(value, f"notice.{key}")
            if text is not None:
                notice[key] = text

    application_year = check.integer(
        doc.get("application_year"), "application_year", low=1990, high=2100
    )
    window_years, window_offsets = _window(doc.get("window"), check)
    cutoff, default_as_of = _as_of(doc.get("as_of"), check)
    policy = _source_policy(doc.get("source_policy"), check)
    caps = _caps(doc.get("caps"), check)
    rules = _rules(doc.get("rules"), check)

    if check.errors:
        raise ProfileError(check.errors)
    assert isinstance(profile_id, str)
    assert version is not None
    assert policy is not None
    assert title_zh is not None
    assert title_en is not None
    profile = Profile(
        id=profile_id,
        version=version,
        title_zh=title_zh,
        title_en=title_en,
        description=description,
        notice=notice,
        application_year=application_year,
        window_years=window_years,
        window_offsets=window_offsets,
        cutoff=cutoff,
        default_as_of=default_as_of,
        source_policy=policy,
        caps=caps,
        rules=rules,
        digest="",
        origin=origin,
    )
    return _with_digest(profile)


def _with_digest(profile: Profile) -> Profile:
    return replace(profile, digest=sha256_hex(profile.content()))


def _years(value: Any, path: str, check: _Check, *, low: int, high: int) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not value:
        check.add(path, "must be a non-empty list of years")
        return None
    years = [check.integer(v, _join(path, i), low=low, high=high) for i, v in enumerate(value)]
    if any(y is None for y in years):
        return None
    clean = [y for y in years if y is not None]
    if len(set(clean)) != len(clean):
        check.add(path, "lists a year twice")
        return None
    if len(clean) > 20:
        check.add(path, "may list at most 20 years")
        return None
    return tuple(sorted(clean))


def _window(value: Any, check: _Check) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    raw = check.mapping(value, "window", optional=("years", "relative")) if value else None
    if value is None:
        return None, None
    if raw is None:
        return None, None
    if ("years" in raw) == ("relative" in raw):
        check.add("window", "give exactly one of years (calendar years) or relative (offsets)")
        return None, None
    if "years" in raw:
        return _years(raw["years"], "window.years", check, low=1990, high=2100), None
    offsets = _years(raw["relative"], "window.relative", check, low=-20, high=1)
    return None, offsets


def _as_of(value: Any, check: _Check) -> tuple[str, dt.date | None]:
    if value is None:
        return Cutoff.ON_OR_BEFORE, None
    raw = check.mapping(value, "as_of", optional=("counts", "default"))
    if raw is None:
        return Cutoff.ON_OR_BEFORE, None
    cutoff = check.choice(raw.get("counts"), "as_of.counts", (Cutoff.ON_OR_BEFORE, Cutoff.BEFORE))
    default = raw.get("default")
    if default is not None and not isinstance(default, dt.date):
        try:
            default = dt.date.fromisoformat(str(default))
        except ValueError:
            check.add("as_of.default", "must be a date YYYY-MM-DD")
            default = None
    return cutoff or Cutoff.ON_OR_BEFORE, default


def _source_policy(value: Any, check: _Check) -> SourcePolicy | None:
    if value is None:
        return None
    raw = check.mapping(
        value,
        "source_policy",
        required=("hours_of_record",),
        optional=("industry_platform", "industry_managed"),
    )
    if raw is None:
        return None
    of_record = check.choice(
        raw.get("hours_of_record"), "source_policy.hours_of_record", SOURCE_KINDS
    )
    industry = check.choice(
        raw.get("industry_platform"), "source_policy.industry_platform", SOURCE_KINDS
    )
    managed = check.choice(
        raw.get("industry_managed"),
        "source_policy.industry_managed",
        (IndustryManaged.HAS_ENTRIES, IndustryManaged.ON_REQUEST),
    )
    if industry is not None and industry == of_record:
        check.add("source_policy.industry_platform", "must differ from hours_of_record")
    if industry is None and raw.get("industry_managed") is not None:
        check.add("source_policy.industry_managed", "only makes sense with industry_platform")
    if industry is not None and raw.get("industry_managed") is None:
        check.add(
            "source_policy.industry_managed",
            "is required with industry_platform (has_entries or on_request)",
        )
    if of_record is None:
        return None
    return SourcePolicy(of_record, industry, managed or IndustryManaged.ON_REQUEST)


def _categories(value: Any, path: str, check: _Check) -> tuple[str, tuple[Category, ...]] | None:
    names = [c.value for c in Category]
    if isinstance(value, str) and value in CATEGORY_GROUPS:
        return value, CATEGORY_GROUPS[value]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        check.add(
            path, f"must be all, public, a category or a list of categories ({', '.join(names)})"
        )
        return None
    found: list[Category] = []
    for i, item in enumerate(items):
        where = path if isinstance(value, str) else _join(path, i)
        if item not in names:
            check.add(where, f"must be one of {', '.join(names)} (or all / public for the list)")
            return None
        if Category(item) in found:
            check.add(where, "is listed twice")
            return None
        found.append(Category(item))
    ordered = tuple(c for c in ALL_CATEGORIES if c in found)
    return "+".join(c.value for c in ordered), ordered


def _caps(value: Any, check: _Check) -> tuple[Cap, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        check.add("caps", "must be a list")
        return ()
    caps: list[Cap] = []
    for i, raw in enumerate(value):
        path = _join("caps", i)
        if check.mapping(raw, path, required=("category", "per_year")) is None:
            continue
        category = check.choice(
            raw.get("category"), f"{path}.category", [c.value for c in Category]
        )
        limit = check.hours(raw.get("per_year"), f"{path}.per_year")
        if category is None or limit is None:
            continue
        if any(c.category == category for c in caps):
            check.add(f"{path}.category", "has a cap already")
            continue
        caps.append(Cap(Category(category), limit))
    return tuple(caps)


def _rules(value: Any, check: _Check) -> tuple[Rule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        check.add("rules", "must be a non-empty list of rules")
        return ()
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        path = _join("rules", i)
        if (
            check.mapping(
                raw, path, required=("id", "kind", "of", "per"), optional=("hours", "label")
            )
            is None
        ):
            continue
        rule_id = raw.get("id")
        if rule_id is not None and (
            not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id)
        ):
            check.add(f"{path}.id", "must be lower-case letters, digits, _ or -")
            rule_id = None
        elif rule_id in seen:
            check.add(f"{path}.id", f"{rule_id!r} is used by an earlier rule")
            rule_id = None
        kind = check.choice(
            raw.get("kind"), f"{path}.kind", (RuleKind.MINIMUM, RuleKind.INFORMATIONAL)
        )
        per = check.choice(raw.get("per"), f"{path}.per", (Per.YEAR, Per.WINDOW))
        of = _categories(raw.get("of"), f"{path}.of", check) if raw.get("of") is not None else None
        hours = check.hours(raw.get("hours"), f"{path}.hours")
        if kind == RuleKind.MINIMUM and raw.get("hours") is None:
            check.add(f"{path}.hours", "is required for a minimum rule")
        if kind == RuleKind.INFORMATIONAL and raw.get("hours") is not None:
            check.add(f"{path}.hours", "an informational rule has no required hours")
        label_zh = label_en = None
        label = raw.get("label")
        if label is not None and check.mapping(label, f"{path}.label", optional=("zh", "en")):
            label_zh = check.text(label.get("zh"), f"{path}.label.zh", limit=200)
            label_en = check.text(label.get("en"), f"{path}.label.en", limit=200)
        if rule_id is None or kind is None or per is None or of is None:
            continue
        seen.add(rule_id)
        rules.append(Rule(rule_id, kind, of[1], of[0], per, hours, label_zh, label_en))
    return tuple(rules)


# --- the catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every known profile version: the built-ins plus an operator's directory."""

    profiles: tuple[Profile, ...]

    def all(self) -> list[Profile]:
        """Every version of every profile, by id then version."""
        return sorted(self.profiles, key=lambda p: (p.id, p.version))

    def latest(self) -> list[Profile]:
        """The newest version of each profile."""
        newest: dict[str, Profile] = {}
        for p in self.all():
            newest[p.id] = p
        return list(newest.values())

    def get(self, ref: str, version: int | None = None) -> Profile:
        """Find a profile by ``id``, ``id@version`` or ``id`` plus ``version``; newest if unsaid.

        Raises:
            UnknownProfileError: no such profile or version.
        """
        if not isinstance(ref, str) or len(ref) > 80:
            raise UnknownProfileError("profile must be a profile id such as r1-annual-90")
        profile_id, _, wanted = ref.partition("@")
        if wanted:
            if not wanted.isdigit():
                raise UnknownProfileError(f"{ref!r}: a version after @ must be a number")
            version = int(wanted)
        matches = [p for p in self.profiles if p.id == profile_id]
        if not matches:
            raise UnknownProfileError(f"no profile {profile_id!r}")
        if version is None:
            return max(matches, key=lambda p: p.version)
        for p in matches:
            if p.version == version:
                return p
        raise UnknownProfileError(f"profile {profile_id!r} has no version {version}")


def load_directory(directory: Path) -> list[Profile]:
    """Load every ``*.yaml``, ``*.yml`` and ``*.json`` file of a directory (not recursive).

    Raises:
        ProfileError: a file is invalid (its errors are prefixed by the file name).
    """
    profiles = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in {".yaml", ".yml", ".json"} or not path.is_file():
            continue
        try:
            profiles.append(load_profile_file(path))
        except ProfileError as exc:
            raise ProfileError({f"{path.name}: {k}": v for k, v in exc.errors.items()}) from None
    return profiles


def build_catalogue(directories: Iterable[Path]) -> Catalogue:
    """Load profiles from directories; the same id and version twice must be the same content.

    Raises:
        ProfileError: a file is invalid, or two files give one id and version different content.
    """
    by_ref: dict[str, Profile] = {}
    for directory in directories:
        for profile in load_directory(directory):
            other = by_ref.get(profile.ref)
            if other is not None and other.digest != profile.digest:
                raise ProfileError(
                    {
                        profile.ref: [
                            f"defined twice with different content ({other.origin} and"
                            f" {profile.origin}); publish a change as a new version"
                        ]
                    }
                )
            by_ref[profile.ref] = profile
    return Catalogue(tuple(by_ref.values()))


@functools.cache
def _cached_catalogue(extra: str | None) -> Catalogue:
    directories = [BUILTIN_DIR]
    if extra:
        directories.append(Path(extra))
    return build_catalogue(directories)


def catalogue() -> Catalogue:
    """The profiles this process knows: built-ins plus ``$CEHOURS_PROFILES_DIR`` (loaded once).

    Raises:
        ProfileError: a profile file is invalid.
    """
    return _cached_catalogue(os.environ.get(PROFILES_DIR_ENV) or None)


def get_profile(ref: str, version: int | None = None) -> Profile:
    """Shortcut for ``catalogue().get(ref, version)``.

    Raises:
        UnknownProfileError: no such profile or version.
    """
    return catalogue().get(ref, version)


def profile_json(profile: Profile) -> str:
    """The normalised content as JSON (for ``cehours profiles show`` and diffs)."""
    return json.dumps(profile.content(), ensure_ascii=False, indent=2, sort_keys=True)
