"""The follower's read API: the sequencer's read routes and JSON shapes (``sequencer.app``), served
from the state derived from L1 alone (``sequencer.follower``), plus ``GET /v1/findings``.

Differences from the sequencer, all because a follower has no mempool and no soft state:
accounts show the derived balance and nonce with ``pending_nonce == nonce`` and ``"head":
"safe"``; ``heads.soft`` equals ``heads.safe`` (the last batch in the canonical L1 chain);
batches are ``safe`` once in the canonical chain and ``final`` once their FinalizeBatch is on L1
(batches a RevertBatches removed are listed under ``/v1/status`` ``derivation.reverted``), and
carry the follower's ``derived_root`` and ``findings``.  Submissions are
refused with 405 ``read_only``.

Every error is ``{"error": {"code", "message"}}`` with a 4xx status (503 ``not_ready`` while the
rollup's creation has not been seen on L1).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from l2.smt import verify_proof
from l2.state import L2State
from sequencer.errors import Rejected
from sequencer.follower import FollowedBatch, Follower
from sequencer.httperrors import create_service_app, error_response
from sequencer.metrics import FollowerCollector, new_registry
from sequencer.models import parse_hex

__all__ = ["create_follower_app"]

log = logging.getLogger("sequencer.follower_app")


_error = error_response


def _hx(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def create_follower_app(follower: Follower, *, manage_lifecycle: bool = True) -> FastAPI:
    app = create_service_app(
        "follower", __doc__, follower.start, follower.close, manage_lifecycle=manage_lifecycle
    )

    # ------------------------------------------------------------------ helpers
    def ready_state() -> L2State:
        state = follower.head_state()
        if state is None or follower.config is None:
            raise Rejected(
                "not_ready",
                "the follower has not seen the rollup's creation on L1 yet; see /v1/status",
                503,
            )
        return state

    def account_index(index: int) -> int:
        assert follower.config is not None
        depth = follower.config.preset.tree_depth
        if not 0 <= index < 1 << depth:
            raise Rejected(
                "invalid_account_index", f"account index {index} is outside the {depth}-deep tree"
            )
        return index

    def batches() -> list[FollowedBatch]:
        with follower._lock:
            return list(follower.chain.batches)

    def head_view(batch: FollowedBatch | None) -> dict[str, Any]:
        if batch is None:
            genesis = follower.genesis
            return {
                "batch": None,
                "state_root": None if genesis is None else _hx(genesis.get_root()),
                "soft_index": None,
            }
        return {
            "batch": batch.number,
            "state_root": _hx(batch.derived_root),
            "soft_index": batch.last_soft_index if batch.last_soft_index >= 0 else None,
        }

    def batch_view(batch: FollowedBatch, with_txs: bool) -> dict[str, Any]:
        commitment = batch.commitment
        view: dict[str, Any] = {
            "number": batch.number,
            "status": follower.batch_status(batch),
            "tx_count": batch.tx_count,
            "first_soft_index": batch.first_soft_index,
            "last_soft_index": batch.last_soft_index,
            "prev_root": _hx(commitment.prev_root),
            "new_root": _hx(commitment.new_root),
            "deposit_start": commitment.deposit_start,
            "deposit_end": commitment.deposit_end,
            "withdrawals_root": _hx(commitment.withdrawals_root),
            "l1_block_hash": _hx(commitment.l1_block_hash),
            "blob_versioned_hashes": [_hx(h) for h in commitment.blob_versioned_hashes],
            "commitment": _hx(commitment.serialize()),
            "commitment_hash": _hx(commitment.compute_hash()),
            "l1_tx_hash": _hx(batch.l1_tx_hash),
            "sealed_at": None,
            # follower extras
            "l1_block_number": batch.block_number,
            "l1_inclusion_block_hash": _hx(batch.block_hash),
            "derived_pre_root": _hx(batch.pre_root),
            "derived_root": _hx(batch.derived_root),
            "findings": [{"kind": k, "message": m} for k, m in batch.findings],
        }
        if with_txs:
            view["transactions"] = [_hx(h) for h in batch.tx_hashes]
        return view

    # ------------------------------------------------------------------ writes: refused
    @app.post("/v1/transactions", include_in_schema=False)
    @app.post("/v1/transactions/bulk", include_in_schema=False)
    def read_only() -> None:
        raise Rejected(
            "read_only", "this is a follower: it derives from L1 and accepts no transactions", 405
        )

    # ------------------------------------------------------------------ accounts
    @app.get("/v1/accounts/{index}", summary="Derived balance and nonce")
    def get_account(index: int) -> dict[str, Any]:
        state = ready_state()
        account_index(index)
        account = state.get_account(index)
        if account is None:
            raise Rejected("unknown_account", f"account {index} does not exist", 404)
        return {
            "index": index,
            "public_key": _hx(account.public_key),
            "balance": account.balance,
            "nonce": account.nonce,
            "pending_nonce": account.nonce,
            "queued_nonces": [],
            "head": "safe",
        }

    @app.get("/v1/accounts/{index}/proof", summary="Merkle proof of the account's leaf")
    def get_account_proof(index: int) -> dict[str, Any]:
        state = ready_state()
        account_index(index)
        assert follower.config is not None
        profile = follower.config.profile
        account = state.get_account(index)
        proof = state.get_proof(index)
        accounts_root = state.get_accounts_root()
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
            "state_root": _hx(state.get_root()),
            "next_account_index": state.next_account_index,
            "next_deposit_index": state.next_deposit_index,
            "valid": verify_proof(
                proof, leaf, accounts_root, profile, follower.config.preset.tree_depth
            ),
        }

    # ------------------------------------------------------------------ batches
    @app.get("/v1/batches", summary="Derived batches in order, from `start`")
    def list_batches(
        start: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)
    ) -> dict[str, Any]:
        return {"batches": [batch_view(b, False) for b in batches()[start : start + limit]]}

    @app.get("/v1/batches/{number}", summary="One derived batch with its transactions")
    def get_batch(number: int) -> dict[str, Any]:
        if number < 0:
            raise Rejected("invalid_batch_number", "batch numbers are non-negative")
        known = batches()
        if number >= len(known):
            raise Rejected("not_found", f"no batch {number}", 404)
        return batch_view(known[number], True)

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
        out: list[dict[str, Any]] = []
        for batch in batches():
            status = follower.batch_status(batch)
            for w in batch.withdrawals:
                if account is not None and w.from_index != account:
                    continue
                if recipient is not None and w.l1_recipient != recipient:
                    continue
                out.append(
                    {
                        "tx_hash": _hx(w.tx_hash),
                        "status": status,
                        "batch": {"number": batch.number, "position": w.position, "status": status},
                        "from_index": w.from_index,
                        "nonce": w.nonce,
                        "l1_recipient": _hx(w.l1_recipient),
                        "amount": w.amount,
                        "hash": _hx(w.hash),
                    }
                )
        return {"withdrawals": out[:limit]}

    # ------------------------------------------------------------------ findings
    @app.get("/v1/findings", summary="Fraud findings: commitments their own data contradicts")
    def get_findings() -> dict[str, Any]:
        return {"findings": follower.findings(), "unavailable": follower.unavailable}

    # ------------------------------------------------------------------ status
    def status_view() -> dict[str, Any]:
        with follower._lock:
            chain = follower.chain
            known = list(chain.batches)
            reverted = list(chain.reverted)
            final_batches = chain.final_batches
            params = chain.params
            config = follower.config
            tip = follower.tip
            next_block = chain.next_block
        last = known[-1] if known else None
        final = next((b for b in reversed(known) if follower.batch_status(b) == "final"), None)
        processed = next_block - 1
        lag = None if tip is None else max(tip - processed, 0)
        retention = follower.blob_retention or None
        within = None if lag is None or retention is None else lag < retention
        return {
            "mode": "follower",
            "chain_id": None if params is None else params.chain_id,
            "rollup_id": _hx(follower.rollup_id),
            "preset": None if params is None else params.l2_preset,
            "fee_account": follower.settings.fee_account,
            "genesis_root": None if follower.genesis is None else _hx(follower.genesis.get_root()),
            "genesis_accounts": chain.genesis_name,
            "challenge_window": None if params is None else params.challenge_window,
            "heads": {
                "soft": head_view(last),
                "safe": head_view(last),
                "final": head_view(final),
            },
            "l1": {
                "url": follower.settings.l1_url,
                "tip": tip,
                "processed_block": processed,
                "lag_blocks": lag,
                "rollup_created_at": chain.creation_block,
            },
            "data_window": {
                "blob_retention_blocks": retention,
                "within_retention": within,
                "note": (
                    "the L1 serves blobs for blob_retention_blocks blocks only: a follower further "
                    "behind than that cannot fetch the batches it has not derived and must start "
                    "from a persisted snapshot (its --data-dir) taken within the window"
                ),
            },
            "derivation": {
                "batches": len(known),
                "final_batches": final_batches,
                "reverted": [
                    {
                        "number": b.number,
                        "status": "reverted",
                        "l1_tx_hash": _hx(b.l1_tx_hash),
                        "reverted_at_block": b.reverted_at,
                    }
                    for b in reverted
                ],
                "state_root": head_view(last)["state_root"],
                "ready": config is not None,
                "findings": len(follower.findings()),
                "unavailable": follower.unavailable,
                "error": follower.error,
                "poll_error": follower.poll_error,
                "last_reorg": follower.last_reorg,
                "resumed": follower.resumed,
            },
            "counters": dict(follower.counters),
        }

    @app.get("/v1/status", summary="Heads, L1 progress, data window and derivation health")
    def get_status() -> dict[str, Any]:
        return status_view()

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        degraded = follower.error or follower.poll_error or follower.unavailable
        return {"status": "degraded" if degraded else "ok"}

    registry = new_registry(FollowerCollector(follower))

    @app.get("/metrics", summary="Prometheus metrics (series: sequencer.metrics)")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
