"""The compiled dump of ``api.schema.Schema`` returns exactly what marshmallow's own dump does.

The property test builds the same random schema twice, once on ``marshmallow.Schema`` and once on
``api.schema.Schema``, and dumps the same random object with both: dicts, plain objects, named
tuples and other mappings, reached through dotted attributes, with fields of every type the
answers use and a few the compiler leaves to marshmallow. Well-formed objects (every member
there and well-typed: the compiled fast paths) and messy ones (members missing, ``None``, of
the wrong type, of other kinds: the careful path). Both must give equal results (of the same
types), or fail with the same exception.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import types
from collections import namedtuple
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.fields import Hours, Inline, OptionalDict, OptionalInteger, YearTotals
from api.schema import Schema

NAMES = ["a", "b", "c", "d", "keys", "count"]  # ``keys`` and ``count``: methods of dicts/tuples
_serial = itertools.count()


class Colour(enum.StrEnum):
    RED = "red"


class Lookup(Mapping[str, Any]):
    """A mapping that is neither a dict nor attribute-only: read as marshmallow reads any."""

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


# A field spec: (kind, options, children). Values for it are drawn by ``values``.
LEAVES = ["string", "integer", "boolean", "raw", "date", "datetime", "hours", "float", "email"]
LEAF_FIELDS: dict[str, Any] = {
    "string": ma.fields.String,
    "integer": ma.fields.Integer,
    "boolean": ma.fields.Boolean,
    "raw": ma.fields.Raw,
    "date": ma.fields.Date,
    "datetime": ma.fields.DateTime,
    "hours": Hours,
    "float": ma.fields.Float,  # left to marshmallow's own _serialize
    "email": ma.fields.Email,  # a String subclass: written out as a String
    "optional_integer": OptionalInteger,
    "optional_errors": lambda **options: OptionalDict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), **options
    ),
    "year_totals": YearTotals,
}
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=5),
    st.sampled_from([Colour.RED, b"bytes", 1.5]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-999, max_value=999),
)


def leaf_value(kind: str, messy: bool) -> st.SearchStrategy[Any]:
    typed: dict[str, st.SearchStrategy[Any]] = {
        # Bytes are decoded, a StrEnum becomes its value.
        "string": st.one_of(st.text(max_size=5), st.sampled_from([b"bytes", Colour.RED])),
        "integer": st.integers(-(2**40), 2**40),
        "date": st.dates(),
        "datetime": st.datetimes(timezones=st.sampled_from([dt.UTC, None])),
        "hours": st.decimals(allow_nan=False, allow_infinity=False, places=1, max_value=10**6),
        "float": st.floats(allow_nan=False),
        "email": st.emails(),
        "optional_integer": st.integers(0, 100),
        "optional_errors": st.dictionaries(
            st.sampled_from(["hours", 3]), st.lists(SCALARS, max_size=2), max_size=2
        ),
        "year_totals": st.dictionaries(
            st.integers(2000, 2030),
            st.dictionaries(
                st.sampled_from(["specialised", "general_public"]),
                st.decimals(allow_nan=False, allow_infinity=False, places=1, max_value=999),
            ),
            max_size=3,
        ),
    }
    return mostly(typed.get(kind, SCALARS), messy)


def mostly(strategy: st.SearchStrategy[Any], messy: bool) -> st.SearchStrategy[Any]:
    """Values of the expected type most of the time, else ``None`` or (if ``messy``) a value
    of any type."""
    return st.integers(0, 9).flatmap(
        lambda n: SCALARS if n == 0 and messy else st.none() if n <= 1 else strategy
    )


def schemas_of(field_specs: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A schema spec: ``((name, spec, attribute, data_key, default), ...)``."""
    member = st.tuples(
        field_specs,
        st.sampled_from([None, None, "other_", "holder.", "holder.inner."]),
        st.sampled_from([None, None, "renamed_"]),
        st.sampled_from([ma.missing, ma.missing, "fallback"]),
    )
    return st.tuples(st.permutations(NAMES), st.lists(member, min_size=1, max_size=4)).map(
        lambda drawn: tuple(
            _named(name, field, attribute, data_key, default)
            for name, (field, attribute, data_key, default) in zip(*drawn, strict=False)
        )
    )


def _named(name: str, field: Any, attribute: Any, data_key: Any, default: Any) -> Any:
    # Attributes and data keys end with the field's name: marshmallow refuses two alike.
    return (
        name,
        field,
        attribute and attribute + name,
        data_key and data_key + name,
        default,
    )


specs = st.recursive(
    st.sampled_from([*LEAVES, "optional_integer", "optional_errors", "year_totals"]).map(
        lambda k: (k, ())
    ),
    lambda inner: st.one_of(
        st.tuples(st.just("list"), st.tuples(inner)),
        st.tuples(st.sampled_from(["dict", "dict_keys", "dict_values"]), st.tuples(inner)),
        st.tuples(st.just("dict_raw"), st.just(())),
        st.tuples(st.just("optional_dict"), st.just(())),
        st.tuples(st.sampled_from(["nested", "nested_many", "inline"]), schemas_of(inner)),
        # A List of Nested, as the answers' lists of entries and rules.
        st.tuples(st.just("list"), st.tuples(st.tuples(st.just("nested"), schemas_of(inner)))),
    ),
    max_leaves=12,
)


def build_field(spec: Any, base: type[ma.Schema], **options: Any) -> ma.fields.Field[Any]:
    kind, children = spec
    if kind in LEAF_FIELDS:
        return LEAF_FIELDS[kind](**options)  # type: ignore[no-any-return]
    if kind == "list":
        return ma.fields.List(build_field(children[0], base), **options)
    if kind == "dict":
        value = build_field(children[0], base)
        return ma.fields.Dict(keys=ma.fields.String(), values=value, **options)
    if kind == "dict_keys":
        return ma.fields.Dict(keys=ma.fields.String(), **options)
    if kind == "dict_values":
        return ma.fields.Dict(values=build_field(children[0], base), **options)
    if kind == "dict_raw":
        return ma.fields.Dict(**options)
    if kind == "optional_dict":
        return OptionalDict(**options)
    nested = build_schema(children, base)
    if kind == "inline":
        return Inline(nested, **options)
    return ma.fields.Nested(nested, many=kind == "nested_many", **options)


def build_schema(spec: Any, base: type[ma.Schema]) -> type[ma.Schema]:
    members: dict[str, Any] = {}
    for name, field_spec, attribute, data_key, default in spec:
        options = {"attribute": attribute, "data_key": data_key, "dump_default": default}
        members[name] = build_field(field_spec, base, **options)
    return type(f"Generated{next(_serial)}", (base,), members)


class _Holder(dict[str, Any]):
    """The members of a dotted path's holder (``holder.inner.b``), before it takes a shape."""


SHAPES_OF = {
    "any": ["dict", "object", "tuple", "mapping"],
    "key": ["dict"],
    "attribute": ["object", "tuple"],
}


@st.composite
def objects(draw: st.DrawFn, spec: Any, messy: bool, family: str = "any") -> Any:
    """An object for a schema spec. ``messy``: some members missing, others of any type,
    objects of any kind; else every member there and well-typed, and the objects it holds of
    the same family as itself (dicts, or objects read by attribute), as the API's are."""
    if family == "any" and not messy:
        family = draw(st.sampled_from(["key", "attribute"]))
    members: dict[str, Any] = {}
    for name, field_spec, attribute, _, _ in spec:
        if messy and draw(st.integers(0, 7)) == 0:
            continue  # missing: the member is left out (or its dump_default used)
        value = draw(values(field_spec, messy, family))
        path = (attribute or name).split(".")
        target = members
        for part in path[:-1]:
            target = target.setdefault(part, _Holder())
        target[path[-1]] = value
    return draw(shaped(members, family))


@st.composite
def shaped(draw: st.DrawFn, members: dict[str, Any], family: str) -> Any:
    """The members as a dict, a plain object, a named tuple or another mapping; each holder of
    a dotted path takes a shape of its own (of the family given)."""
    inner = {
        k: draw(shaped(v, family)) if isinstance(v, _Holder) else v for k, v in members.items()
    }
    kind = draw(st.sampled_from(SHAPES_OF[family]))
    if kind == "object":
        return types.SimpleNamespace(**inner)
    if kind == "tuple":
        return namedtuple("Row", list(inner), rename=True)(*inner.values())
    if kind == "mapping":
        return Lookup(inner)
    return inner


def values(spec: Any, messy: bool, family: str) -> st.SearchStrategy[Any]:
    kind, children = spec
    if kind in LEAF_FIELDS:
        return leaf_value(kind, messy)
    if kind == "list":
        return mostly(st.lists(values(children[0], messy, family), max_size=3), messy)
    if kind.startswith("dict") or kind == "optional_dict":
        child = values(children[0], messy, family) if children else SCALARS
        keys = st.sampled_from(["k", "l", 3] if messy else ["k", "l"])
        return mostly(st.dictionaries(keys, child, max_size=2), messy)
    if kind == "nested_many":
        return mostly(st.lists(objects(children, messy, family), max_size=2), messy)
    return mostly(objects(children, messy, family), messy)


def outcome(schema: ma.Schema, obj: Any, many: bool) -> tuple[str, Any]:
    """What dumping gave: the data, or the type of the exception raised."""
    try:
        return "dumped", schema.dump(obj, many=many)
    except Exception as exc:
        return "raised", type(exc)


def typed(value: Any) -> Any:
    """The value with each leaf's type beside it: ``"red"`` and ``Colour.RED`` are equal."""
    if isinstance(value, dict):
        return {typed(k): typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [typed(v) for v in value]
    return (type(value), value)


@pytest.mark.parametrize("messy", [False, True], ids=["well-formed objects", "messy objects"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=schemas_of(specs))
def test_the_compiled_dump_equals_marshmallows(messy: bool, data: st.DataObject, spec: Any) -> None:
    reference = build_schema(spec, ma.Schema)()
    compiled = build_schema(spec, Schema)()
    obj = data.draw(objects(spec, messy))
    many = data.draw(st.booleans())
    subject = [obj, obj] if many else obj
    expected = outcome(reference, subject, many)
    assert typed(outcome(compiled, subject, many)) == typed(expected), (spec, obj)


class _Course(Schema):
    code = ma.fields.String()
    title = ma.fields.String()


class _Entry(Schema):
    id = ma.fields.Integer()
    course = ma.fields.Nested(_Course, only=("code",))
    courses = ma.fields.List(ma.fields.Nested(_Course, exclude=("code",)))


def test_a_nested_schema_narrowed_by_only_or_exclude_dumps_just_those_fields() -> None:
    course = {"code": "C1", "title": "BIM"}
    assert _Entry().dump({"id": 1, "course": course, "courses": [course]}) == {
        "id": 1,
        "course": {"code": "C1"},
        "courses": [{"title": "BIM"}],
    }
    assert _Course().dump(course) == course  # the class itself is not narrowed


class _Hooked(Schema):
    name = ma.fields.String()

    @ma.post_dump
    def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"name": data["name"].upper()}


class _HoldsHooked(Schema):
    inner = ma.fields.Nested(_Hooked)


def test_dump_hooks_still_run_around_the_compiled_function() -> None:
    assert _Hooked().dump({"name": "a"}) == {"name": "A"}
    assert _HoldsHooked().dump({"inner": {"name": "b"}}) == {"inner": {"name": "B"}}


class _Tree(Schema):
    label = ma.fields.String()
    children = ma.fields.List(ma.fields.Nested(lambda: _Tree()))


def test_a_schema_nesting_itself_is_compiled_lazily() -> None:
    tree = {"label": "root", "children": [{"label": "leaf", "children": []}]}
    assert _Tree().dump(tree) == tree


@pytest.mark.parametrize("value", [None, {}])
def test_an_optional_member_without_a_value_is_left_out(value: Any) -> None:
    class Result(Schema):
        entry_id = OptionalInteger()
        errors = OptionalDict()

    assert Result().dump({"entry_id": value, "errors": value}) == {}
    assert Result().dump({"entry_id": 0, "errors": {"a": ["b"]}}) == {
        "entry_id": 0,
        "errors": {"a": ["b"]},
    }


def test_hours_are_answered_with_one_decimal_place_and_zero_keeps_its_sign() -> None:
    class Figures(Schema):
        hours = ma.fields.List(Hours())

    given_hours = [Decimal("2"), Decimal("2.0"), Decimal("1.25"), Decimal("-0"), Decimal("0")]
    assert Figures().dump({"hours": given_hours}) == {"hours": ["2.0", "2.0", "1.2", "-0.0", "0.0"]}


def test_year_totals_add_each_years_total() -> None:
    class Totals(Schema):
        totals = YearTotals()

    held = {2024: {"specialised": Decimal("40"), "general_public": Decimal("12.5")}, 2025: {}}
    assert Totals().dump({"totals": held}) == {
        "totals": {
            "2024": {"specialised": "40.0", "general_public": "12.5", "total": "52.5"},
            "2025": {"total": "0.0"},
        }
    }


class _HeldByPath(Schema):
    # ``keys`` is also a method of dicts: read the wrong way, a dict gives that instead.
    keys = ma.fields.String(attribute="holder.keys")


class _Keyed(Schema):
    keys = ma.fields.String()


class _HeldInside(Schema):
    inner = ma.fields.Nested(_HeldByPath)
    keys = ma.fields.Nested(_HeldByPath)


class _KeyedInside(Schema):
    keyed = ma.fields.Nested(_Keyed)
    listed = ma.fields.List(ma.fields.Nested(_Keyed))


class _ReferenceHeldByPath(ma.Schema):
    keys = ma.fields.String(attribute="holder.keys")


class _ReferenceKeyed(ma.Schema):
    keys = ma.fields.String()


class _ReferenceHeldInside(ma.Schema):
    inner = ma.fields.Nested(_ReferenceHeldByPath)
    keys = ma.fields.Nested(_ReferenceHeldByPath)


class _ReferenceKeyedInside(ma.Schema):
    keyed = ma.fields.Nested(_ReferenceKeyed)
    listed = ma.fields.List(ma.fields.Nested(_ReferenceKeyed))


SHAPES = {
    "dict": lambda members: members,
    "object": lambda members: types.SimpleNamespace(**members),
    "tuple": lambda members: namedtuple("Row", list(members))(*members.values()),
    "mapping": Lookup,
}


@pytest.mark.parametrize("outer", SHAPES)
@pytest.mark.parametrize("holder", SHAPES)
def test_holders_and_nested_objects_of_another_kind_are_read_as_marshmallow_reads_them(
    outer: str, holder: str
) -> None:
    held = SHAPES[outer]({"holder": SHAPES[holder]({"keys": "k"})})
    assert _HeldByPath().dump(held) == _ReferenceHeldByPath().dump(held)
    inside = SHAPES[outer]({"inner": held, "keys": held})
    assert _HeldInside().dump(inside) == _ReferenceHeldInside().dump(inside)
    item = SHAPES[holder]({"keys": "k"})
    keyed = SHAPES[outer]({"keyed": item, "listed": [item, None]})
    assert _KeyedInside().dump(keyed) == _ReferenceKeyedInside().dump(keyed)
