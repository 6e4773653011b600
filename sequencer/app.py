"""The sequencer's REST API (FastAPI; OpenAPI at ``/docs``).

Every error is ``{"error": {"code", "message"}}`` with a 4xx status that says what was wrong:
400 malformed body or invalid transaction, 404 unknown object, 409 conflicting replacement,
413 body too large (before it is buffered, ``l1.httputil``), 422 a field out of range (with its
path), 429 a mempool limit, 503 storage trouble.  Nothing a client sends produces a 500.

A 2xx for a submission means the transaction and its soft result are committed (see
``sequencer.service``): 200 executed (``soft``, with the receipt) or already known, 202 queued
behind a nonce gap (``pending``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool

from l1.httputil import BodyLimitMiddleware
from l2.errors import L2Error
from l2.smt import verify_proof
from l2.tx import Transaction, Transfer, Withdraw, decode_record
from sequencer.entries import TxEntry
from sequencer.errors import Rejected, rejection_from_l2
from sequencer.httperrors import create_service_app, error_response
from sequencer.mempool import Admission
from sequencer.metrics import SequencerCollector, new_registry
from sequencer.models import BulkIn, RecordIn, TransferIn, TxIn, WithdrawIn, parse_hex
from sequencer.poster import finalize_meta_key, withdrawal_out_point
from sequencer.service import Head, Sequencer

__all__ = ["create_app"]

log = logging.getLogger("sequencer.app")

_TX_ADAPTER: TypeAdapter[TransferIn | WithdrawIn | RecordIn] = TypeAdapter(TxIn)


_error = error_response


def _hx(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(body: bytes, content_type: str | None) -> Any:
    """Strict JSON: declared as JSON, UTF-8, no duplicate keys, no NaN, bounded depth."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Rejected(
            "unsupported_media_type",
            f"content-type must be application/json, got {content_type or 'none'}",
        )
    if not body:
        raise Rejected("malformed_body", "request body is empty")
    try:
        text = body.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise Rejected("malformed_body", "request body is not UTF-8") from None
    except _DuplicateKey as exc:
        raise Rejected("malformed_body", f"request body has a {exc}") from None
    except RecursionError:
        raise Rejected("malformed_body", "request body nests too deeply") from None
    except ValueError as exc:
        raise Rejected("malformed_body", f"request body is not valid JSON: {exc}") from None


def _validation_message(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for error in exc.errors()[:10]:
        path = ".".join(str(p) for p in (prefix, *error["loc"]) if p != "")
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{path or 'body'}: {message}")
    return "; ".join(parts)


def to_transaction(model: TransferIn | WithdrawIn | RecordIn, seq: Sequencer) -> Transaction:
    if isinstance(model, TransferIn):
        return Transfer(
            model.from_index,
            model.to_index,
            model.amount,
            model.fee,
            model.nonce,
            parse_hex(model.signature, 64, "signature"),
        )
    if isinstance(model, WithdrawIn):
        return Withdraw(
            model.from_index,
            model.amount,
            model.fee,
            model.nonce,
            parse_hex(model.l1_recipient, 20, "l1_recipient"),
            parse_hex(model.signature, 64, "signature"),
        )
    try:
        return decode_record(parse_hex(model.record, 124, "record"), seq.config.profile)
    except L2Error as exc:
        raise rejection_from_l2(exc) from None


def create_app(seq: Sequencer, *, manage_lifecycle: bool = True) -> FastAPI:
    app = create_service_app(
        "sequencer", __doc__, seq.start, seq.close, manage_lifecycle=manage_lifecycle
    )

    # ------------------------------------------------------------------ helpers
    def batch_status(entry: TxEntry) -> str | None:
        if entry.batch_number is None:
            return None
        with seq.store.read() as conn:
            batch = seq.store.get_batch(conn, entry.batch_number)
        return None if batch is None else batch.status

    def tx_view(entry: TxEntry, *, duplicate: bool | None = None) -> dict[str, Any]:
        tx = entry.tx
        status = entry.status
        bstatus = batch_status(entry) if status == "soft" else None
        l1_tx_hash = None
        if bstatus in ("safe", "final"):
            status = bstatus
        if entry.batch_number is not None:
            with seq.store.read() as conn:
                batch = seq.store.get_batch(conn, entry.batch_number)
            l1_tx_hash = None if batch is None else batch.l1_tx_hash
        view: dict[str, Any] = {
            "hash": _hx(entry.hash),
            "status": status,
            "kind": "transfer" if isinstance(tx, Transfer) else "withdraw",
            "from_index": tx.from_index,
            "to_index": tx.to_index if isinstance(tx, Transfer) else None,
            "l1_recipient": _hx(tx.l1_recipient) if isinstance(tx, Withdraw) else None,
            "amount": tx.amount,
            "fee": tx.fee,
            "nonce": tx.nonce,
            "soft_index": entry.soft_index,
            "post_root": _hx(entry.post_root),
            "receipt": None if entry.receipt is None else json.loads(entry.receipt),
            "batch": None
            if entry.batch_number is None
            else {"number": entry.batch_number, "position": entry.position, "status": bstatus},
            "l1_tx_hash": _hx(l1_tx_hash),
            "error": entry.error,
            "replaced_by": _hx(entry.replaced_by),
        }
        if duplicate is not None:
            view["duplicate"] = duplicate
        return view

    def admission_status(admission: Admission) -> int:
        if admission.duplicate or admission.entry.status == "soft":
            return 200
        return 202

    def lookup_entry(tx_hash: bytes) -> TxEntry | None:
        with seq.store.read() as conn:
            return seq.store.get_tx(conn, tx_hash)

    def head_view(head: Head) -> dict[str, Any]:
        return {
            "batch": head.batch,
            "state_root": _hx(head.state_root),
            "soft_index": head.soft_index,
        }

    def tx_body_schema(name: str) -> dict[str, Any]:
        return {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                },
            }
        }

    # ------------------------------------------------------------------ transactions
    @app.post(
        "/v1/transactions",
        openapi_extra=tx_body_schema("TxIn"),
        summary="Submit one signed transfer or withdrawal",
        responses={200: {"description": "executed (soft) or already known"}, 202: {}},
    )
    async def post_transaction(request: Request) -> Response:
        payload = parse_json_body(await request.body(), request.headers.get("content-type"))
        try:
            model = _TX_ADAPTER.validate_python(payload)
        except ValidationError as exc:
            raise Rejected("invalid_field", _validation_message(exc), 422) from None
        tx = to_transaction(model, seq)
        [result] = await run_in_threadpool(seq.submit, [tx])
        if isinstance(result, Rejected):
            raise result
        view = await run_in_threadpool(tx_view, result.entry, duplicate=result.duplicate)
        return JSONResponse(view, status_code=admission_status(result))

    @app.post(
        "/v1/transactions/bulk",
        openapi_extra=tx_body_schema("BulkIn"),
        summary="Submit several transactions in order; one result per item",
    )
    async def post_bulk(request: Request) -> Response:
        payload = parse_json_body(await request.body(), request.headers.get("content-type"))
        items = payload.get("transactions") if isinstance(payload, dict) else None
        limit = seq.settings.max_bulk
        if isinstance(items, list) and len(items) > limit:
            raise Rejected("bulk_too_large", f"a bulk request holds 1 to {limit} transactions")
        try:
            bulk = BulkIn.model_validate(payload)
        except ValidationError as exc:
            raise Rejected("invalid_field", _validation_message(exc), 422) from None
        txs: list[Transaction | Rejected] = []
        for item in bulk.transactions:
            try:
                txs.append(to_transaction(item, seq))
            except Rejected as exc:
                txs.append(exc)
        valid = [tx for tx in txs if not isinstance(tx, Rejected)]
        results = iter(await run_in_threadpool(seq.submit, valid))
        out: list[dict[str, Any]] = []
        for tx in txs:
            result = tx if isinstance(tx, Rejected) else next(results)
            if isinstance(result, Rejected):
                out.append(result.to_json())
            else:
                view = await run_in_threadpool(tx_view, result.entry, duplicate=result.duplicate)
                out.append(view)
        return JSONResponse({"results": out})

    @app.get("/v1/transactions/{tx_hash}", summary="A transaction's status, receipt and batch")
    def get_transaction(tx_hash: str) -> dict[str, Any]:
        try:
            raw = parse_hex(tx_hash, 32, "transaction hash")
        except ValueError as exc:
            raise Rejected("invalid_hash", str(exc)) from None
        entry = lookup_entry(raw)
        if entry is None:
            with seq.store.read() as conn:
                deposits = seq.store.list_deposits(conn, tx_hash=raw, limit=1)
            if deposits:
                return deposit_view(deposits[0])
            raise Rejected("not_found", f"no transaction {tx_hash}", 404)
        return tx_view(entry)

    # ------------------------------------------------------------------ L1 deposits
    def deposit_view(row: dict[str, Any]) -> dict[str, Any]:
        """A credited L1 deposit: its L2 ``Deposit`` transaction and where it stands."""
        batch = None
        if row["batch_number"] is not None:
            with seq.store.read() as conn:
                record = seq.store.get_batch(conn, row["batch_number"])
            if record is not None:
                batch = {"number": record.number, "status": record.status}
        status = "soft"
        if batch is not None and batch["status"] in ("safe", "final"):
            status = batch["status"]
        return {
            "hash": _hx(row["tx_hash"]),
            "status": status,
            "kind": "deposit",
            "deposit_index": row["deposit_index"],
            "to_index": row["to_index"],
            "amount": row["amount"],
            "public_key": _hx(row["public_key"]),
            "l1_out_point": {
                "tx_hash": _hx(row["out_point"][:32]),
                "index": int.from_bytes(row["out_point"][32:], "little"),
            },
            "l1_block": row["l1_block"],
            "soft_index": row["soft_index"],
            "batch": batch,
        }

    @app.get("/v1/deposits", summary="L1 deposits credited on L2, in queue order")
    def list_deposits(
        start: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)
    ) -> dict[str, Any]:
        with seq.store.read() as conn:
            rows = seq.store.list_deposits(conn, start, limit)
        return {"deposits": [deposit_view(r) for r in rows]}

    # ------------------------------------------------------------------ accounts
    def account_index(index: int) -> int:
        depth = seq.config.preset.tree_depth
        if not 0 <= index < 1 << depth:
            raise Rejected(
                "invalid_account_index", f"account index {index} is outside the {depth}-deep tree"
            )
        return index

    @app.get("/v1/accounts/{index}", summary="Soft balance, nonce and pending nonce")
    def get_account(index: int) -> dict[str, Any]:
        account_index(index)
        with seq._lock:
            account = seq.executor.state.get_account(index)
            pending_nonce = seq.mempool.get_pending_nonce(index)
            queued = [e.nonce for e in seq.mempool.get_queued(index)]
        if account is None:
            raise Rejected("unknown_account", f"account {index} does not exist", 404)
        return {
            "index": index,
            "public_key": _hx(account.public_key),
            "balance": account.balance,
            "nonce": account.nonce,
            "pending_nonce": pending_nonce,
            "queued_nonces": queued,
            "head": "soft",
        }

    @app.get("/v1/accounts/{index}/proof", summary="Merkle proof of the account's leaf (soft)")
    def get_account_proof(index: int) -> dict[str, Any]:
        account_index(index)
        with seq._lock:
            state = seq.executor.state
            account = state.get_account(index)
            proof = state.get_proof(index)
            accounts_root = state.get_accounts_root()
            state_root = state.get_root()
            counters = (state.next_account_index, state.next_deposit_index)
        profile = seq.config.profile
        leaf = (
            profile.empty_leaf_hash
            if account is None
            else profile.hash_leaf(account.public_key, account.balance, account.nonce)
        )
        return {
            "index": index,
            "account": None
            if account is None
            else {
                "public_key": _hx(account.public_key),
                "balance": account.balance,
                "nonce": account.nonce,
            },
            "leaf_hash": _hx(leaf),
            "siblings": [_hx(s) for s in proof.siblings],
            "accounts_root": _hx(accounts_root),
            "state_root": _hx(state_root),
            "next_account_index": counters[0],
            "next_deposit_index": counters[1],
            "valid": verify_proof(
                proof, leaf, accounts_root, profile, seq.config.preset.tree_depth
            ),
        }

    # ------------------------------------------------------------------ batches
    def batch_view(number: int, with_txs: bool) -> dict[str, Any]:
        from l2.batch import BatchCommitment

        with seq.store.read() as conn:
            batch = seq.store.get_batch(conn, number)
            hashes = seq.store.get_batch_tx_hashes(conn, number) if with_txs else None
        if batch is None:
            raise Rejected("not_found", f"no batch {number}", 404)
        commitment = BatchCommitment.deserialize(batch.commitment)
        view: dict[str, Any] = {
            "number": batch.number,
            "status": batch.status,
            "tx_count": batch.tx_count,
            "first_soft_index": batch.first_soft_index,
            "last_soft_index": batch.last_soft_index,
            "prev_root": _hx(batch.prev_root),
            "new_root": _hx(batch.new_root),
            "deposit_start": commitment.deposit_start,
            "deposit_end": commitment.deposit_end,
            "withdrawals_root": _hx(commitment.withdrawals_root),
            "l1_block_hash": _hx(commitment.l1_block_hash),
            "blob_versioned_hashes": [_hx(h) for h in commitment.blob_versioned_hashes],
            "commitment": _hx(batch.commitment),
            "commitment_hash": _hx(batch.commitment_hash),
            "l1_tx_hash": _hx(batch.l1_tx_hash),
            "sealed_at": batch.sealed_at,
        }
        if hashes is not None:
            view["transactions"] = [_hx(h) for h in hashes]
        return view

    @app.get("/v1/batches", summary="Batches in order, from `start`")
    def list_batches(
        start: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)
    ) -> dict[str, Any]:
        with seq.store.read() as conn:
            records = seq.store.list_batches(conn, start, limit)
        return {"batches": [batch_view(r.number, False) for r in records]}

    @app.get("/v1/batches/{number}", summary="One batch with its commitment and transactions")
    def get_batch(number: int) -> dict[str, Any]:
        if number < 0:
            raise Rejected("invalid_batch_number", "batch numbers are non-negative")
        return batch_view(number, True)

    # ------------------------------------------------------------------ withdrawals
    @app.get("/v1/withdrawals", summary="Withdrawals by L2 account or by L1 recipient")
    def get_withdrawals(
        account: int | None = Query(None, ge=0, lt=1 << 32),
        l1_recipient: str | None = Query(None),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        if (account is None) == (l1_recipient is None):
            raise Rejected("invalid_query", "give exactly one of account or l1_recipient")
        recipient = None
        if l1_recipient is not None:
            try:
                recipient = parse_hex(l1_recipient, 20, "l1_recipient")
            except ValueError as exc:
                raise Rejected("invalid_query", str(exc)) from None
        with seq.store.read() as conn:
            entries = seq.store.get_withdrawals(
                conn, sender=account, l1_recipient=recipient, limit=limit
            )
        out = []
        for entry in entries:
            view = tx_view(entry)
            receipt = view["receipt"] or {}
            out.append(
                {
                    "tx_hash": view["hash"],
                    "status": view["status"],
                    "batch": view["batch"],
                    **(receipt.get("withdrawal") or {}),
                    **withdrawal_l1_view(entry, view),
                }
            )
        return {"withdrawals": out}

    def withdrawal_l1_view(entry: TxEntry, view: dict[str, Any]) -> dict[str, Any]:
        """The withdrawal's L1 cell once its batch is final (FinalizeBatch created it: output
        ``1 + position among the batch's withdrawals`` of that transaction), and whether it
        can be claimed (it exists: the batch is final)."""
        if view["status"] != "final" or entry.batch_number is None or entry.position is None:
            return {"l1_out_point": None, "claimable": False}
        with seq.store.read() as conn:
            raw = seq.store.get_meta(conn, finalize_meta_key(entry.batch_number))
            before = seq.store.count_withdrawals_before(conn, entry.batch_number, entry.position)
        if raw is None:
            return {"l1_out_point": None, "claimable": False}
        out_point = withdrawal_out_point(bytes.fromhex(raw), before)
        return {
            "l1_out_point": {"tx_hash": _hx(out_point.tx_hash), "index": out_point.index},
            "claimable": True,
        }

    # ------------------------------------------------------------------ disputes
    @app.get(
        "/v1/disputes",
        summary="Dispute games of the rollup as this sequencer's defender sees them",
    )
    def get_disputes() -> dict[str, Any]:
        if seq.defender is None:
            return {"games": [], "stats": None, "events": [], "last_error": None}
        return seq.defender.to_json()

    # ------------------------------------------------------------------ status
    @app.get("/v1/status", summary="Soft, safe and final heads")
    def get_status() -> dict[str, Any]:
        heads = seq.get_heads()
        health, reasons = seq.health()
        return {
            "chain_id": seq.config.chain_id,
            "rollup_id": _hx(seq.config.rollup_id),
            "preset": seq.config.preset.name,
            "fee_account": seq.config.fee_account,
            "genesis_root": _hx(seq.genesis.get_root()),
            "heads": {name: head_view(head) for name, head in heads.items()},
            "mempool": {"pending": seq.mempool.pending_count},
            "unbatched": len(seq.executor.unbatched),
            "poster": seq.poster.name,
            "batcher_error": seq.batcher.last_error,
            "health": health,
            "degraded_reasons": reasons,
            "deposits_credited": len(seq.credited_deposits),
        }

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        health, reasons = seq.health()
        return {"status": health, "reasons": reasons}

    registry = new_registry(SequencerCollector(seq))

    @app.get("/metrics", summary="Prometheus metrics (series: sequencer.metrics)")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # ------------------------------------------------------------------ OpenAPI
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        models: list[tuple[type[BaseModel], Any]] = [
            (TransferIn, "validation"),
            (WithdrawIn, "validation"),
            (RecordIn, "validation"),
            (BulkIn, "validation"),
        ]
        _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.get("$defs", {}))
        components["TxIn"] = {
            "oneOf": [
                {"$ref": f"#/components/schemas/{n}"}
                for n in ("TransferIn", "WithdrawIn", "RecordIn")
            ],
            "discriminator": {"propertyName": "kind"},
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimitMiddleware, limit=seq.settings.max_request_bytes)
    return app
