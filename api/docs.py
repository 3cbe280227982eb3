"""``/docs``: the OpenAPI document as a self-contained HTML page (no scripts, no CDN)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def describe(schema: dict[str, Any] | None) -> str:
    """A short type for a schema: ``string (date)``, ``array of Record``, ``Course``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "oneOf" in schema:
        return " or ".join(describe(s) for s in schema["oneOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {describe(schema.get('items'))}"
    if kind == "object" and "additionalProperties" in schema:
        return f"object of {describe(schema['additionalProperties'])}"
    if "format" in schema:
        kind = f"{kind} ({schema['format']})"
    if "enum" in schema:
        kind += ": " + " | ".join(str(v) for v in schema["enum"])
    if schema.get("nullable"):
        kind += " or null"
    return str(kind)


def _operations(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_tag: dict[str, list[dict[str, Any]]] = {}
    responses = spec.get("components", {}).get("responses", {})
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {})
            answers = []
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    response = responses.get(_ref_name(response["$ref"]), {})
                content = response.get("content", {})
                media = next(iter(content), "")
                schema = content.get(media, {}).get("schema") if media else None
                answers.append(
                    {
                        "status": status,
                        "description": response.get("description", ""),
                        "media": media,
                        "type": describe(schema) if schema else "",
                    }
                )
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "secured": bool(op.get("security")),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": describe(p.get("schema")),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": {
                        media: describe(content.get("schema")) for media, content in body.items()
                    },
                    "responses": answers,
                }
            )
    return by_tag


def _schemas(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        out.append(
            {
                "name": name,
                "description": schema.get("description", ""),
                "fields": [
                    {
                        "name": field,
                        "type": describe(prop),
                        "required": field in required,
                        "description": prop.get("description", ""),
                    }
                    for field, prop in schema.get("properties", {}).items()
                ],
            }
        )
    return out


@bp.route("/docs")
def docs() -> str:
    """Render the operations and schemas of the served OpenAPI document."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    tags = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    return render_template(
        "docs.html",
        info=spec["info"],
        tags=tags,
        operations=_operations(spec),
        schemas=_schemas(spec),
    )
