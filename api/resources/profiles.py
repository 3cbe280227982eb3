"""Rule profiles over HTTP: ``GET /v1/profiles`` and ``GET /v1/profiles/{profile_id}``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.auth import require_role
from api.errors import Problem
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.compliance.catalogue import Catalogue, catalogue
from ledger.compliance.profile import Cutoff, IndustryManaged, Per, RuleKind
from ledger.errors import ProfileError

blp = Blueprint(
    "profiles",
    __name__,
    description="Versioned rule profiles: the CE requirements of each notice, as data.",
)


class ProfileTitleSchema(Schema):
    zh = ma.fields.String(
        required=True, metadata={"example": "衢州市2020年申报中级及以下职称继续教育学时"}
    )
    en = ma.fields.String(
        required=True, metadata={"example": "Quzhou 2020, intermediate title and below"}
    )


class ProfileNoticeSchema(Schema):
    document = ma.fields.String(required=True, metadata={"description": "the notice implemented"})
    clause = ma.fields.String(metadata={"description": "where in the notice"})
    seed = ma.fields.String(metadata={"description": "file of the notice's text in this project"})
    url = ma.fields.String()
    issued = ma.fields.String(metadata={"description": "date of the notice"})


def installed_profiles() -> Catalogue:
    """The server's profiles; a broken profile file is the operator's problem, not the caller's.

    Raises:
        Problem: 503 when a profile file in ``$CEHOURS_PROFILES_DIR`` is invalid.
    """
    try:
        return catalogue()
    except ProfileError:
        raise Problem(
            503,
            "The rule profiles installed on this server are invalid; an operator must fix them"
            " (cehours profiles validate).",
            code="profiles-unavailable",
        ) from None


class RuleLabelSchema(Schema):
    zh = ma.fields.String(allow_none=True)
    en = ma.fields.String(allow_none=True)


class ProfileSummarySchema(Schema):
    id = ma.fields.String(required=True, metadata={"example": "quzhou-2020-intermediate"})
    version = ma.fields.Integer(required=True, metadata={"example": 1})
    digest = ma.fields.String(
        required=True, metadata={"description": "SHA-256 (hex) of the canonical content"}
    )
    title = ma.fields.Nested(ProfileTitleSchema, required=True)
    description = ma.fields.String(allow_none=True)
    notice = ma.fields.Nested(ProfileNoticeSchema, required=True)


class ProfileListSchema(Schema):
    profiles = ma.fields.List(ma.fields.Nested(ProfileSummarySchema), required=True)


class ProfileRuleSchema(Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([k.value for k in RuleKind]),
        metadata={"description": "informational rules are reported and never fail"},
    )
    of = ma.fields.String(required=True, metadata={"description": "all, public or categories"})
    categories = ma.fields.List(ma.fields.String(), required=True)
    per = ma.fields.String(required=True, validate=ma.validate.OneOf([p.value for p in Per]))
    hours = ma.fields.String(metadata={"description": "required hours (minimum rules)"})
    label = ma.fields.Nested(RuleLabelSchema)


class ProfileCapSchema(Schema):
    category = ma.fields.String(required=True)
    per_year = ma.fields.String(required=True)


class ProfileWindowSchema(Schema):
    years = ma.fields.List(ma.fields.Integer(), metadata={"description": "fixed calendar years"})
    relative = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "offsets from the application year"}
    )


class ProfileAsOfSchema(Schema):
    counts = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([c.value for c in Cutoff]),
        metadata={"description": "which completion dates count relative to the as-of date"},
    )
    default = ma.fields.String(metadata={"description": "as-of date used when none is given"})


class ProfileSourcePolicySchema(Schema):
    hours_of_record = ma.fields.String(required=True, metadata={"example": "city"})
    industry_platform = ma.fields.String(metadata={"example": "province_industry"})
    industry_managed = ma.fields.String(
        validate=ma.validate.OneOf([m.value for m in IndustryManaged]),
    )


class ProfileSchema(ProfileSummarySchema):
    application_year = ma.fields.Integer()
    window = ma.fields.Nested(ProfileWindowSchema, required=True)
    as_of = ma.fields.Nested(ProfileAsOfSchema, required=True)
    source_policy = ma.fields.Nested(ProfileSourcePolicySchema, required=True)
    caps = ma.fields.List(ma.fields.Nested(ProfileCapSchema))
    rules = ma.fields.List(ma.fields.Nested(ProfileRuleSchema), required=True)


class ProfileQuerySchema(ma.Schema):
    version = ma.fields.Integer(
        validate=ma.validate.Range(min=1), metadata={"description": "default: the newest"}
    )


@blp.route("/v1/profiles")
@blp.response(200, ProfileListSchema)
@require_role("filing")
def list_profiles() -> dict[str, Any]:
    """List the rule profiles

    Every version of every profile, with its digest (the hash of its canonical content, which an
    attestation names so that the rule set it used is fixed).
    """
    return {"profiles": [p.summary() for p in installed_profiles().all()]}


@blp.route("/v1/profiles/<string:profile_id>")
@blp.arguments(ProfileQuerySchema, location="query")
@blp.response(200, ProfileSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_role("filing")
def get_profile(query: dict[str, Any], profile_id: str) -> dict[str, Any]:
    """Show one profile

    Its window, as-of convention, source policy and rules. `profile_id` may carry a version
    (`quzhou-2020-intermediate@1`); otherwise the `version` parameter, else the newest.
    """
    profile = installed_profiles().get(profile_id, query.get("version"))
    return {**profile.content(), "digest": profile.digest}
