"""How :class:`api.schema.Schema` dumps: the source of one Python function, from a schema's fields.

:class:`DumpCompiler` writes the function; it returns what ``marshmallow.Schema._serialize``
returns for the same schema and object:

- a dict's values are read by key, an object's by attribute, both directly; whatever is not there
  (or any other surprise) sends that object to a careful path that reads values with
  marshmallow's own ``utils.get_value`` and runs each field as ``Field.serialize`` would
  (``dump_default``, omitted members, marshmallow's order of evaluation, hence its errors);
- the field types the answers use are written out: ``String``, ``Integer``, ``Boolean``, ``Raw``,
  ``Date``, ``DateTime``, ``Nested``, ``List``, ``Dict``, :class:`api.fields.LeftOutWhenEmpty`
  and any field whose ``_serialize`` is a pure function of the value (``serialize_value``, see
  :class:`api.fields.Hours`); nested objects and lists of them are written out in place;
- any other field, and any field that overrides ``serialize`` or ``get_value``, is serialised by
  its own marshmallow methods, so that unusual fields stay correct if not fast.
"""

from __future__ import annotations

import itertools
import keyword
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields as mf
from marshmallow.utils import ensure_text_type, get_value

from api.fields import Inline, LeftOutWhenEmpty

MISSING = ma.missing
Dumper = Callable[[Any], dict[str, Any]]

# How the fast paths read an object's values, decided once per type: by key (a dict), by
# attribute (no ``__getitem__``, or a tuple's or list's, which refuse string keys); any other
# object (GENERIC) is read by the careful path only, as marshmallow reads it.
BY_KEY, BY_ATTRIBUTE, GENERIC = 0, 1, 2
_REFUSE_STRING_KEYS = (tuple.__getitem__, list.__getitem__)
_access: dict[type, int] = {dict: BY_KEY}
# The types read by attribute, for a quick ``type(obj) in _attribute_types`` in the functions.
_attribute_types: set[type] = set()


def access_of(kind: type) -> int:
    """How values of an object of type ``kind`` are read (see :data:`BY_KEY`...)."""
    found = _access.get(kind)
    if found is None:
        getitem = getattr(kind, "__getitem__", None)
        found = BY_ATTRIBUTE if getitem is None or getitem in _REFUSE_STRING_KEYS else GENERIC
        _access[kind] = found
        if found == BY_ATTRIBUTE:
            _attribute_types.add(kind)
    return found


class _Careful(Exception):
    """The fast path met an object it does not read directly: take the careful one."""


def _attribute_holder(obj: Any) -> None:
    if access_of(type(obj)) != BY_ATTRIBUTE:
        raise _Careful


def _indent(lines: list[str], levels: int) -> list[str]:
    return ["    " * levels + line for line in lines]


def _read(holder: str, key: str, how: int) -> str:
    """``holder.key`` (or ``getattr`` for a name that is no identifier), or ``holder["key"]``."""
    if how != BY_ATTRIBUTE:
        return f"{holder}[{key!r}]"
    if key.isidentifier() and not keyword.iskeyword(key):
        return f"{holder}.{key}"
    return f"getattr({holder}, {key!r})"


def _serialize_below(kind: type, mixin: type) -> Any:
    """The ``_serialize`` that ``mixin``'s own calls through ``super()`` in class ``kind``."""
    mro = kind.__mro__
    for klass in mro[mro.index(mixin) + 1 :]:
        if "_serialize" in vars(klass):
            return vars(klass)["_serialize"]
    raise TypeError(f"{kind.__name__} has no _serialize below {mixin.__name__}")


def _overrides(field: mf.Field[Any], name: str, base: type) -> bool:
    return getattr(type(field), name) is not getattr(base, name)


def _compiled_dump(schema: ma.Schema) -> bool:
    """Whether a nested schema's compiled function (``_one``) may be called instead of its
    ``dump``: an :class:`api.schema.Schema` with no hooks to run."""
    dumps_by_one = getattr(schema, "dumps_by_one", None)
    return callable(dumps_by_one) and bool(dumps_by_one())


class DumpCompiler:
    """Writes and compiles the dump function of one schema instance.

    The function has three paths. Two fast ones, for a dict and for an object read by attribute,
    read every value directly (``obj["id"]``, ``obj.entry.id``), write nested objects out in
    place (no call per nested object) and build each dictionary in one display. Any exception on
    the way (a value that is not there, a holder of another kind, a value of the wrong type)
    sends the object to the careful path, which reads each value with marshmallow's
    ``get_value`` and applies ``dump_default`` and omissions exactly as ``Field.serialize``
    does, in marshmallow's order, so that even a failure fails as marshmallow's would.
    Serialising is pure: starting again loses nothing but time.
    """

    # How deep nested schemas are written out in place; deeper ones are called.
    INLINE_DEPTH = 3

    def __init__(self, schema: ma.Schema) -> None:
        self.schema = schema
        self.namespace: dict[str, Any] = {
            "MISSING": MISSING,
            "TEXT": ensure_text_type,
            "GET": get_value,
            "ACCESS_OF": access_of,
            "ATTRIBUTE": _attribute_types,
            "BY_ATTRIBUTE": _attribute_holder,
        }
        self._names = itertools.count()

    def constant(self, value: Any, prefix: str = "c") -> str:
        """A name in the function's namespace bound to ``value``."""
        name = f"{prefix}{next(self._names)}"
        self.namespace[name] = value
        return name

    def variable(self) -> str:
        return f"x{next(self._names)}"

    def dumper(self) -> Dumper:
        schema = self.schema
        if (
            type(schema).get_attribute is not ma.Schema.get_attribute
            or schema.dict_class is not dict
        ):
            return lambda obj: ma.Schema._serialize(schema, obj)
        source = "\n".join(
            [
                "def dump(obj):",
                "    kind = type(obj)",
                "    if kind in ATTRIBUTE or (kind is not dict and ACCESS_OF(kind) == 1):",
                "        try:",
                *_indent(self.fast(schema, "obj", BY_ATTRIBUTE, "out", ()), 3),
                "        except Exception:",
                "            pass",
                "        else:",
                "            return out",
                "    elif kind is dict:",
                "        try:",
                *_indent(self.fast(schema, "obj", BY_KEY, "out", ()), 3),
                "        except Exception:",
                "            pass",
                "        else:",
                "            return out",
                "    out = {}",
                *_indent(self.careful(), 1),
                "    return out",
            ]
        )
        code = compile(source, f"<dump of {type(schema).__name__}>", "exec")
        exec(code, self.namespace)  # noqa: S102 (source written above from the declared fields)
        dumper: Dumper = self.namespace["dump"]
        return dumper

    # --- the fast paths -----------------------------------------------------------------------

    def fast(
        self, schema: ma.Schema, obj: str, how: int, into: str, outer: tuple[type, ...]
    ) -> list[str]:
        """Statements leaving in ``into`` the dump of ``obj``, read directly as ``how`` says."""
        lines: list[str] = []
        holders: dict[str, str] = {}
        members: list[tuple[str, str, bool]] = []  # (key, expression, may answer MISSING)
        for name, field in schema.dump_fields.items():
            key = field.data_key if field.data_key is not None else name
            if self.inlined(field):
                value = obj
            elif self.by_marshmallow(field):
                serialize = self.constant(field.serialize, "serialize")
                accessor = self.constant(schema.get_attribute, "accessor")
                members.append((key, f"{serialize}({name!r}, {obj}, accessor={accessor})", True))
                continue
            else:
                value = self.variable()
                read = self.direct(obj, field.attribute or name, how, holders, lines)
                lines.append(f"{value} = {read}")
            nested = self.nestable(field, outer)
            listed = self.nestable(field.inner, outer) if isinstance(field, mf.List) else None
            if nested is not None or listed is not None:
                # Written out here, into a variable of its own, rather than called.
                done = self.variable()
                inside = (*outer, type(schema))
                if nested is not None:
                    lines += self.in_place(nested, value, how, done, inside)
                elif listed is not None:
                    lines += self.in_place_each(listed, value, how, done, inside)
                members.append((key, done, False))
                continue
            expression = self.value(field, value, repr(name), obj)
            members.append((key, expression, self.may_be_missing(field)))
        # One dictionary display up to the first member that may be left out, then one by one
        # (the answer's members keep the declared order).
        display = list(itertools.takewhile(lambda m: not m[2], members))
        lines.append(f"{into} = {{" + ", ".join(f"{k!r}: {e}" for k, e, _ in display) + "}")
        for key, expression, omissible in members[len(display) :]:
            if omissible:
                lines += [f"v = {expression}", f"if v is not MISSING: {into}[{key!r}] = v"]
            else:
                lines.append(f"{into}[{key!r}] = {expression}")
        return lines

    def nestable(self, field: mf.Field[Any], outer: tuple[type, ...]) -> ma.Schema | None:
        """The schema of a single nested object to write out in place, if it is one."""
        if _Kind.of(field) is not _Kind.NESTED:
            return None
        assert isinstance(field, mf.Nested)
        schema = field.schema
        if (
            schema.many
            or field.many
            or not _compiled_dump(schema)
            or len(outer) >= self.INLINE_DEPTH
            or type(schema) in outer
        ):
            return None
        return schema

    def in_place(
        self, schema: ma.Schema, value: str, how: int, into: str, outer: tuple[type, ...]
    ) -> list[str]:
        """Statements leaving in ``into`` the dump of the nested ``value`` (or ``None``); one of
        another kind than its parent is dumped by a call (for attributes, a must: ``d.keys`` of
        a dict is a method)."""
        same_kind = (
            f"type({value}) in ATTRIBUTE" if how == BY_ATTRIBUTE else f"type({value}) is dict"
        )
        call = self.constant(schema, "schema")
        return [
            f"if {value} is None:",
            f"    {into} = None",
            f"elif {same_kind}:",
            *_indent(self.fast(schema, value, how, into, outer), 1),
            "else:",
            f"    {into} = {call}._one({value})",
        ]

    def in_place_each(
        self, schema: ma.Schema, value: str, how: int, into: str, outer: tuple[type, ...]
    ) -> list[str]:
        """Statements leaving in ``into`` the list of the dumps of ``value``'s items (``List``
        of ``Nested``), each written out in place as :meth:`in_place` does."""
        item, done = self.variable(), self.variable()
        same_kind = f"type({item}) in ATTRIBUTE" if how == BY_ATTRIBUTE else f"type({item}) is dict"
        call = self.constant(schema, "schema")
        return [
            f"if {value} is None:",
            f"    {into} = None",
            "else:",
            f"    {into} = []",
            f"    for {item} in {value}:",
            f"        if {item} is None:",
            f"            {into}.append(None)",
            f"        elif {same_kind}:",
            *_indent(self.fast(schema, item, how, done, outer), 3),
            f"            {into}.append({done})",
            "        else:",
            f"            {into}.append({call}._one({item}))",
        ]

    def direct(
        self, obj: str, path: str, how: int, holders: dict[str, str], lines: list[str]
    ) -> str:
        """An expression reading ``path`` of ``obj`` directly; holders of dotted paths are read
        once per object: ``entry.id`` and ``entry.kind`` read ``entry`` once."""
        *outer, last = path.split(".")
        holder, prefix = obj, ""
        for part in outer:
            prefix += part + "."
            known = holders.get(prefix)
            if known is None:
                known = holders[prefix] = self.variable()
                lines.append(f"{known} = {_read(holder, part, how)}")
                if how == BY_ATTRIBUTE:
                    # A dict's keys are no attributes (``holder.keys`` is a method).
                    lines.append(f"if type({known}) not in ATTRIBUTE: BY_ATTRIBUTE({known})")
                # Reading by key is what marshmallow tries first on anything: where it fails,
                # the careful path takes over.
            holder = known
        return _read(holder, last, how)

    # --- the careful path ---------------------------------------------------------------------

    def careful(self) -> list[str]:
        """Statements filling ``out`` exactly as marshmallow's ``Schema._serialize`` does."""
        lines: list[str] = []
        for name, field in self.schema.dump_fields.items():
            out = f"out[{field.data_key if field.data_key is not None else name!r}]"
            if self.inlined(field):
                lines.append(f"{out} = {self.value(field, 'obj', repr(name), 'obj')}")
                continue
            if self.by_marshmallow(field):
                serialize = self.constant(field.serialize, "serialize")
                accessor = self.constant(self.schema.get_attribute, "accessor")
                lines += [
                    f"v = {serialize}({name!r}, obj, accessor={accessor})",
                    f"if v is not MISSING: {out} = v",
                ]
                continue
            lines.append(f"v = GET(obj, {field.attribute or name!r}, MISSING)")
            if field.dump_default is not MISSING:
                default = self.constant(field.dump_default, "default")
                call = "()" if callable(field.dump_default) else ""
                lines.append(f"if v is MISSING: v = {default}{call}")
            expression = self.value(field, "v", repr(name), "obj")
            if self.may_be_missing(field):
                lines += [
                    "if v is not MISSING:",
                    f"    v = {expression}",
                    f"    if v is not MISSING: {out} = v",
                ]
            else:
                lines.append(f"if v is not MISSING: {out} = {expression}")
        return lines

    # --- fields -------------------------------------------------------------------------------

    @staticmethod
    def inlined(field: mf.Field[Any]) -> bool:
        """An :class:`Inline` field: its value is the object itself."""
        return isinstance(field, Inline) and not _overrides(field, "serialize", mf.Field)

    @staticmethod
    def by_marshmallow(field: mf.Field[Any]) -> bool:
        """A field that reads its own value: marshmallow's ``serialize`` runs it."""
        return (
            _overrides(field, "serialize", mf.Field)
            or _overrides(field, "get_value", mf.Field)
            or not field._CHECK_ATTRIBUTE
        )

    @staticmethod
    def may_be_missing(field: mf.Field[Any]) -> bool:
        """Whether the field's value expression may answer MISSING (the member left out)."""
        return _Kind.of(field) in (_Kind.CALL, _Kind.OMISSIBLE)

    def value(
        self, field: mf.Field[Any], v: str, attr: str, obj: str, serialize: Any = None
    ) -> str:
        """An expression equal to ``field._serialize(<v>, <attr>, <obj>)`` (or to ``serialize``,
        the ``_serialize`` of one of the field's base classes)."""
        kind = _Kind.of(field, serialize)
        if kind is _Kind.OMISSIBLE:
            below = _serialize_below(type(field), LeftOutWhenEmpty)
            then = self.value(field, v, attr, obj, below)
            return f"(MISSING if {v} is None or ({v}.__class__ is dict and not {v}) else {then})"
        if kind is _Kind.SAME:
            return v
        if kind is _Kind.TEXT:
            # As marshmallow's ensure_text_type: bytes decoded, anything else str() (a StrEnum's
            # value, say), written out rather than called.
            return (
                f"({v} if {v}.__class__ is str else None if {v} is None"
                f" else TEXT({v}) if isinstance({v}, bytes) else str({v}))"
            )
        if kind is _Kind.INT:
            return f"({v} if {v}.__class__ is int else None if {v} is None else int({v}))"
        if kind is _Kind.TEMPORAL:
            assert isinstance(field, mf.Date | mf.DateTime | mf.Time)
            form = field.format or field.DEFAULT_FORMAT
            function = field.SERIALIZATION_FUNCS.get(form)
            if function is not None:
                return f"(None if {v} is None else {self.constant(function, 'format')}({v}))"
            return f"(None if {v} is None else {v}.strftime({form!r}))"
        if kind is _Kind.PURE:
            pure = self.constant(field.serialize_value, "pure")  # type: ignore[attr-defined]
            return f"{pure}({v})"
        if kind is _Kind.NESTED:
            assert isinstance(field, mf.Nested)
            return self.nested(field, v)
        if kind is _Kind.LIST:
            assert isinstance(field, mf.List)
            each = self.variable()
            inner = self.value(field.inner, each, attr, obj)
            return f"(None if {v} is None else [{inner} for {each} in {v}])"
        if kind is _Kind.DICT:
            assert isinstance(field, mf.Dict)
            return self.mapping(field, v, attr, obj)
        call = self.constant(field._serialize, "serialize")
        return f"{call}({v}, {attr}, {obj})"

    def nested(self, field: mf.Nested, v: str) -> str:
        schema = field.schema
        many = schema.many or field.many
        target = self.constant(schema, "schema")
        if not _compiled_dump(schema):
            return f"(None if {v} is None else {target}.dump({v}, many={many!r}))"
        if many:
            each = self.variable()
            return f"(None if {v} is None else [{target}._one({each}) for {each} in {v}])"
        return f"(None if {v} is None else {target}._one({v}))"

    def mapping(self, field: mf.Dict, v: str, attr: str, obj: str) -> str:
        if field.key_field is None and field.value_field is None:
            return f"(None if {v} is None else dict({v}))"
        key, each = self.variable(), self.variable()
        keys = key if field.key_field is None else self.value(field.key_field, key, "None", "None")
        values = (
            each
            if field.value_field is None
            else self.value(field.value_field, each, "None", "None")
        )
        # Keys first, then values, as marshmallow does (so that the same error is raised
        # first); anything but a dict goes to the field's own _serialize.
        serialize = self.constant(field._serialize, "serialize")
        return (
            f"(None if {v} is None else dict(zip([{keys} for {key} in {v}],"
            f" [{values} for {each} in {v}.values()])) if {v}.__class__ is dict"
            f" else {serialize}({v}, {attr}, {obj}))"
        )


class _Kind:
    """Which serialisation a field's ``_serialize`` is, for the ones written out inline."""

    SAME = "same"  # returns the value (Field, Raw, Boolean)
    TEXT = "text"
    INT = "int"
    TEMPORAL = "temporal"
    PURE = "pure"
    NESTED = "nested"
    LIST = "list"
    DICT = "dict"
    OMISSIBLE = "omissible"  # LeftOutWhenEmpty: MISSING when empty, else as the base class
    CALL = "call"  # anything else: the field's own _serialize, which may answer MISSING

    @classmethod
    def of(cls, field: mf.Field[Any], serialize: Any = None) -> str:
        """The kind of ``serialize`` (by default the field's own ``_serialize``)."""
        if serialize is None:
            if getattr(field, "serialize_value", None) is not None:
                return cls.PURE
            serialize = type(field)._serialize
        if serialize is LeftOutWhenEmpty._serialize:
            return cls.OMISSIBLE
        if serialize is mf.Field._serialize:
            return cls.SAME
        if serialize is mf.String._serialize:
            return cls.TEXT
        if (
            serialize is mf.Number._serialize
            and isinstance(field, mf.Integer)
            and field.num_type is int
            and type(field)._format_num is mf.Number._format_num
            and not field.as_string
        ):
            return cls.INT
        if serialize is mf.DateTime._serialize:
            return cls.TEMPORAL
        if serialize is mf.Nested._serialize:
            return cls.NESTED
        if serialize is mf.List._serialize:
            return cls.LIST
        if serialize is mf.Dict._serialize and field.mapping_type is dict:  # type: ignore[attr-defined]
            return cls.DICT
        return cls.CALL
