"""What every resource module shares: the Blueprint to use, the JSON body parser, the problem
schema.

Use ``api.resources.base.Blueprint`` (not flask-smorest's own) so that request bodies are
parsed the way the contract needs: JSON numbers become ``Decimal`` (hours stay exact), a body
that is not JSON is refused with 415, malformed or absurdly nested JSON with 400, and a text no
field can hold (a lone surrogate such as ``"\\ud800"``, a NUL) with 422 naming the field. A
list whose items the ledger judges one by one (:class:`PerItem`, the records of a batch) is left
to it, so that such a text rejects its own item and the others go on.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NoReturn, TypeVar, cast

import flask_smorest
import marshmallow as ma
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser

from api.errors import Problem
from api.schema import Schema
from ledger.values.texts import find_unfit_texts, printable, unicode_problem

F = TypeVar("F", bound=Callable[..., Any])


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: str | bytes) -> Any:
    """Parse JSON with numbers as ``Decimal`` (never a binary float); NaN and Infinity refused.

    Raises:
        ValueError: not JSON, not UTF-8, NaN/Infinity, or nested too deeply to parse.
    """
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


class PerItem:
    """Marks a field as the item of a list that the ledger validates item by item: the body
    parser leaves texts inside those items to it (see the module docstring)."""


def _per_item_lists(schema: ma.Schema) -> frozenset[str]:
    return frozenset(
        field.data_key or name
        for name, field in schema.fields.items()
        if isinstance(field, ma.fields.List) and isinstance(field.inner, PerItem)
    )


def unfit_texts(data: Any, per_item: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Field path -> problem for every text in a parsed body that no field can hold, leaving
    out the items of the lists named in ``per_item``."""
    errors: dict[str, list[str]] = {}
    if isinstance(data, Mapping) and per_item:
        for key, value in data.items():
            if key in per_item and isinstance(value, list):
                continue
            for path, problem in find_unfit_texts({key: value}):
                errors.setdefault(path, []).append(problem)
        return errors
    for path, problem in find_unfit_texts(data):
        errors.setdefault(path, []).append(problem)
    return errors


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        raise Problem(
            422,
            "The request is not valid: see errors for each field.",
            code="validation",
            errors=errors,
        )


class JSONBodyParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with :func:`loads`, strict on content type,
    refusing texts no field can hold (in bodies and query strings) before any schema sees them.
    """

    def _load_location_data(self, *, schema: ma.Schema, req: Request, location: str) -> Any:
        data = super()._load_location_data(schema=schema, req=req, location=location)
        if location == "json":
            _refuse(unfit_texts(data, _per_item_lists(schema)))
        elif location == "query":
            _refuse(
                {
                    f"query.{printable(name)}": [problem]
                    for name, value in req.args.items(multi=True)
                    if (problem := unicode_problem(name) or unicode_problem(value)) is not None
                }
            )
        return data

    def _raw_load_json(self, req: Request) -> Any:
        if not core.is_json(req.mimetype):
            raise Problem(
                415,
                "Send the body as JSON with Content-Type: application/json.",
                code="unsupported-media-type",
            )
        data = req.get_data(cache=True)
        try:
            return loads(data)
        except ValueError as exc:
            # Messages name a position or a reason, never the body's content.
            raise Problem(
                400, f"The body is not valid JSON: {exc}", code="malformed-json"
            ) from None


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with this API's JSON body parser, whose answers are served as
    the content type they are documented with (flask-smorest only documents it)."""

    ARGUMENTS_PARSER = JSONBodyParser()

    def response(
        self,
        status_code: int,
        schema: Any = None,
        *,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> Callable[[F], F]:
        decorator: Callable[[F], F] = super().response(
            status_code, schema, content_type=content_type, **kwargs
        )
        if content_type is None:
            return decorator

        def served_as(view: F) -> F:
            dumping = decorator(view)

            @functools.wraps(dumping)
            def wrapper(*args: Any, **kw: Any) -> Any:
                response = dumping(*args, **kw)
                response.mimetype = content_type
                return response

            return cast(F, wrapper)

        return served_as


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details); served as ``application/problem+json``."""

    type = ma.fields.String(
        metadata={"description": "URI of the problem type (about:blank for plain HTTP errors)"}
    )
    title = ma.fields.String(metadata={"description": "short summary of the problem type"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "what went wrong this time"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "for validation errors: field path -> messages"},
    )
    request_id = ma.fields.String(metadata={"description": "the request's X-Request-ID"})
