"""The tamper-evident log over HTTP: checkpoint, verifier key, proofs, witnesses' cosignatures.

No credential is needed and nothing personal is served: entry ids, sizes and hashes only.
Hashes are standard base64, as in the checkpoint itself.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app, request

from api.db import db_session
from api.errors import Problem
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.errors import LogKeyError, NotInLogError
from ledger.log import checkpoints
from ledger.log.notes import b64
from ledger.log.proofs import prove_consistency, prove_inclusion

blp = Blueprint(
    "log",
    __name__,
    description="The tamper-evident log: every entry is a leaf of one RFC 6962 Merkle tree; "
    "signed checkpoints (C2SP), inclusion and consistency proofs, witness cosignatures.",
)

TEXT = "text/plain; charset=utf-8"
HASHES = {"description": "the proof's hashes, standard base64, in RFC 6962 order"}


def _text_response(description: str, example: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string", "example": example}}},
        }
    }


CHECKPOINT_EXAMPLE = (
    "cehours.example/log\n42\nqnZ1JmZBBE6aTZ6hBFrJYyR6a0mo3hUG+9RKiN2PSg4=\n\n"
    "— cehours.example/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gG\n"
)


class InclusionQuerySchema(ma.Schema):
    entry_id = ma.fields.Integer(required=True, metadata={"description": "the entry's id"})
    tree_size = ma.fields.Integer(
        metadata={"description": "the tree to prove it in (default: the latest checkpoint's)"}
    )


class ConsistencyQuerySchema(ma.Schema):
    from_size = ma.fields.Integer(required=True, data_key="from", metadata={"example": 10})
    to = ma.fields.Integer(required=True, metadata={"example": 42})


class InclusionSchema(Schema):
    entry_id = ma.fields.Integer(required=True)
    leaf_index = ma.fields.Integer(required=True)
    tree_size = ma.fields.Integer(required=True)
    leaf_hash = ma.fields.String(
        required=True,
        metadata={"description": "SHA-256(0x00 || the entry's chain hash), standard base64"},
    )
    hashes = ma.fields.List(ma.fields.String(), required=True, metadata=HASHES)


class ConsistencySchema(Schema):
    from_size = ma.fields.Integer(required=True, data_key="from", attribute="from")
    to = ma.fields.Integer(required=True)
    hashes = ma.fields.List(ma.fields.String(), required=True, metadata=HASHES)


class CosignedSchema(Schema):
    tree_size = ma.fields.Integer(required=True)
    cosignatures = ma.fields.Integer(
        required=True, metadata={"description": "cosignatures of configured witnesses kept"}
    )


def _plain(text: str, max_age: int) -> Response:
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Type"] = TEXT
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


@blp.route("/v1/log/checkpoint")
@blp.doc(responses=_text_response("The latest checkpoint, a C2SP signed note", CHECKPOINT_EXAMPLE))
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@replica_reads
def checkpoint() -> Response:
    """The latest signed checkpoint

    A C2SP `tlog-checkpoint` as a signed note: the origin line, the tree size in decimal, the
    root hash in base64, a blank line, the log's Ed25519 note signature and every witness
    cosignature held for it. Check it with the key from `/v1/log/key`.
    """
    try:
        return _plain(checkpoints.checkpoint_note(read_session()), 1)
    except NotInLogError:
        raise Problem(
            503,
            "No checkpoint has been signed yet; try again in a few seconds.",
            code="no-checkpoint",
        ) from None


@blp.route("/v1/log/key")
@blp.doc(
    responses=_text_response(
        "The note verifier key", "cehours.example/log+a1b2c3d4+AQ...base64 key..."
    )
)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@replica_reads
def key() -> Response:
    """The log's verifier key

    In the signed-note form `<name>+<hex key ID>+<base64(0x01 || Ed25519 public key)>`.
    Obtain it once, through a channel you trust, and pin it.
    """
    try:
        verifier = checkpoints.log_verifier(read_session())
    except LogKeyError as exc:
        raise Problem(503, str(exc), code="no-log-key") from None
    if verifier is None:
        raise Problem(503, "The log has no signing key yet.", code="no-log-key")
    return _plain(verifier.vkey() + "\n", 300)


@blp.route("/v1/log/proof/inclusion")
@blp.arguments(InclusionQuerySchema, location="query", as_kwargs=True)
@blp.response(200, InclusionSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(404, response="NOT_FOUND")
def inclusion(entry_id: int, tree_size: int | None = None) -> dict[str, Any]:
    """An entry's inclusion proof

    Proves that entry `entry_id` is leaf `leaf_index` of the tree of `tree_size` (default: the
    latest checkpoint's). 404 for an entry not in the log yet (entries join it within seconds),
    400 for a size the log never had or an entry added after it.
    """
    proof = prove_inclusion(db_session(), entry_id, tree_size)
    return {
        "entry_id": proof.entry_id,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": b64(proof.leaf_hash),
        "hashes": [b64(h) for h in proof.hashes],
    }


@blp.route("/v1/log/proof/consistency")
@blp.arguments(ConsistencyQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ConsistencySchema)
@blp.alt_response(400, response="BAD_REQUEST")
def consistency(from_size: int, to: int) -> dict[str, Any]:
    """A consistency proof between two tree sizes

    Proves that the tree of size `to` extends the tree of size `from` (1 <= from <= to <= the
    log's size): nothing in the older tree was changed or removed.
    """
    proof = prove_consistency(db_session(), from_size, to)
    return {"from": proof.from_size, "to": proof.to, "hashes": [b64(h) for h in proof.hashes]}


@blp.route("/v1/log/cosignatures", methods=["POST"])
@blp.doc(
    requestBody={
        "required": True,
        "description": "the checkpoint as served, with the witness's cosignature line added",
        "content": {"text/plain": {"schema": {"type": "string", "example": CHECKPOINT_EXAMPLE}}},
    }
)
@blp.response(200, CosignedSchema)
@blp.alt_response(400, response="BAD_REQUEST")
def cosign() -> dict[str, Any]:
    """Hand in a witness's cosignature

    A witness configured in `CEHOURS_LOG_WITNESSES` posts the checkpoint it cosigned (C2SP
    `tlog-cosignature`, Ed25519). Each of its cosignatures that checks is kept and served with
    the checkpoint from then on. No credential: the cosignature is its own proof.
    """
    try:
        note = request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "The body is not UTF-8 text.", code="malformed-note") from None
    try:
        witnesses = checkpoints.configured_witnesses()
    except LogKeyError as exc:
        current_app.logger.error("witness configuration: %s", exc)
        raise Problem(503, "The witnesses are misconfigured.", code="no-witnesses") from None
    size, kept = checkpoints.add_cosignatures(db_session(), note, witnesses)
    return {"tree_size": size, "cosignatures": kept}
