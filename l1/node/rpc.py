"""JSON-RPC 2.0 methods with CKB's names and JSON shapes (``ckb-rpc`` README).

Each handler takes the decoded params (CKB uses positional arrays; named objects are accepted
too) and returns JSON-ready data or raises ``RpcError``. Ledger errors map to CKB's error codes
(-301 resolve, -302 verify, -11xx pool), so CKB tooling reads them the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from l1.ckb.compact import compact_to_difficulty
from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import compute_header_hash, compute_script_hash
from l1.ckb.json import (
    JsonFormatError,
    block_to_json,
    bytes_to_json,
    cell_output_to_json,
    h256_from_json,
    header_to_json,
    out_point_from_json,
    out_point_to_json,
    quantity_from_json,
    quantity_to_json,
    script_from_json,
    transaction_from_json,
    transaction_to_json,
)
from l1.ckb.types import Header
from l1.core.blobs import (
    CELLS_PER_EXT_BLOB,
    BlobSidecar,
)
from l1.core.errors import (
    AlreadyCommitted,
    DeadCell,
    DoubleSpend,
    HeaderDepNotFound,
    L1Error,
    PoolConflict,
    PoolDuplicate,
    PoolError,
    PoolFeeRateTooLow,
    PoolFull,
    UnknownCell,
)
from l1.node.chain import StoreCellProvider
from l1.node.node import Node
from l1.node.p2p import is_peer_url
from l1.node.wire import sidecar_list_from_json, sidecar_to_json

__all__ = ["RpcError", "build_methods", "l1_error_to_rpc"]

# JSON-RPC 2.0 and CKB error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TRANSACTION_FAILED_TO_RESOLVE = -301
TRANSACTION_FAILED_TO_VERIFY = -302
POOL_REJECTED_LOW_FEE_RATE = -1102
POOL_IS_FULL = -1106
POOL_REJECTED_DUPLICATED = -1107
POOL_REJECTED_RBF = -1111
POOL_REJECTED_COMMITTED = -1108
BLOCK_REJECTED = -801
BLOB_NOT_FOUND = -1201
BLOB_PRUNED = -1202

MAX_PAGE = 1_000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def l1_error_to_rpc(exc: L1Error) -> RpcError:
    name = type(exc).__name__
    message = f"{name}: {exc}"
    if isinstance(exc, (UnknownCell, DeadCell, DoubleSpend, HeaderDepNotFound)):
        return RpcError(TRANSACTION_FAILED_TO_RESOLVE, message, name)
    if isinstance(exc, PoolDuplicate):
        return RpcError(POOL_REJECTED_DUPLICATED, message, name)
    if isinstance(exc, AlreadyCommitted):
        return RpcError(POOL_REJECTED_COMMITTED, message, name)
    if isinstance(exc, PoolFeeRateTooLow):
        return RpcError(POOL_REJECTED_LOW_FEE_RATE, message, name)
    if isinstance(exc, PoolFull):
        return RpcError(POOL_IS_FULL, message, name)
    if isinstance(exc, PoolConflict):
        return RpcError(POOL_REJECTED_RBF, message, name)
    if isinstance(exc, PoolError):
        return RpcError(POOL_REJECTED_DUPLICATED, message, name)
    return RpcError(TRANSACTION_FAILED_TO_VERIFY, message, name)


class Params:
    """Positional (CKB style) or named params, with clear errors naming the parameter."""

    def __init__(self, method: str, raw: Any, names: list[str]) -> None:
        if raw is None:
            raw = []
        if isinstance(raw, list):
            if len(raw) > len(names):
                raise RpcError(
                    INVALID_PARAMS, f"{method} takes at most {len(names)} params, got {len(raw)}"
                )
            self.values = dict(zip(names, raw, strict=False))
        elif isinstance(raw, dict):
            unknown = set(raw) - set(names)
            if unknown:
                raise RpcError(INVALID_PARAMS, f"{method}: unknown param {sorted(unknown)[0]!r}")
            self.values = dict(raw)
        else:
            raise RpcError(INVALID_PARAMS, f"{method}: params must be an array or an object")
        self.method = method

    def required(self, name: str) -> Any:
        if name not in self.values or self.values[name] is None:
            raise RpcError(INVALID_PARAMS, f"{self.method}: missing param {name!r}")
        return self.values[name]

    def optional(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value


def _parse(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except JsonFormatError as exc:
        raise RpcError(INVALID_PARAMS, str(exc)) from None
    except (ValueError, TypeError) as exc:  # e.g. an unhashable hash_type: bad params, not a 500
        raise RpcError(INVALID_PARAMS, str(exc)) from None


def _header_view(node: Node, header: Header) -> dict[str, Any]:
    return header_to_json(header)


def build_methods(node: Node) -> dict[str, Callable[[Any], Any]]:
    chain = node.chain
    methods: dict[str, Callable[[Any], Any]] = {}

    def method(names: list[str]) -> Callable[[Callable[[Params], Any]], Callable[[Params], Any]]:
        def register(fn: Callable[[Params], Any]) -> Callable[[Params], Any]:
            def handler(raw: Any) -> Any:
                return fn(Params(fn.__name__, raw, names))

            methods[fn.__name__] = handler
            return fn

        return register

    def block_by_hash(block_hash: bytes) -> dict[str, Any] | None:
        block = chain.get_block(block_hash)
        return None if block is None else block_to_json(block)

    @method([])
    def get_tip_header(p: Params) -> Any:
        return _header_view(node, chain.tip.header)

    @method([])
    def get_tip_block_number(p: Params) -> Any:
        return quantity_to_json(chain.tip.number)

    @method(["block_number", "verbosity", "with_cycles"])
    def get_block_by_number(p: Params) -> Any:
        number = _parse(quantity_from_json, p.required("block_number"), "block_number")
        block_hash = chain.get_main_hash(number)
        return None if block_hash is None else block_by_hash(block_hash)

    @method(["block_hash", "verbosity", "with_cycles"])
    def get_block(p: Params) -> Any:
        return block_by_hash(_parse(h256_from_json, p.required("block_hash"), "block_hash"))

    @method(["block_hash", "verbosity"])
    def get_header(p: Params) -> Any:
        record = chain.records.get(_parse(h256_from_json, p.required("block_hash"), "block_hash"))
        return (
            None
            if record is None or record.status == "invalid"
            else _header_view(node, record.header)
        )

    @method(["block_number", "verbosity"])
    def get_header_by_number(p: Params) -> Any:
        number = _parse(quantity_from_json, p.required("block_number"), "block_number")
        block_hash = chain.get_main_hash(number)
        return None if block_hash is None else _header_view(node, chain.records[block_hash].header)

    @method(["block_number"])
    def get_block_hash(p: Params) -> Any:
        number = _parse(quantity_from_json, p.required("block_number"), "block_number")
        block_hash = chain.get_main_hash(number)
        return None if block_hash is None else bytes_to_json(block_hash)

    @method(["tx_hash", "verbosity", "only_committed"])
    def get_transaction(p: Params) -> Any:
        tx_hash = _parse(h256_from_json, p.required("tx_hash"), "tx_hash")
        entry = node.pool.entries.get(tx_hash)
        if entry is not None:
            return {
                "transaction": transaction_to_json(entry.tx),
                "cycles": quantity_to_json(entry.cycles),
                "fee": quantity_to_json(entry.fee),
                "time_added_to_pool": quantity_to_json(entry.time_added_ms),
                "tx_status": {
                    "status": "pending",
                    "block_hash": None,
                    "block_number": None,
                    "tx_index": None,
                    "reason": None,
                },
            }
        with chain.store.read() as conn:
            location = chain.store.get_transaction_location(conn, tx_hash)
        if location is not None:
            block = chain.get_block(location[0])
            if block is not None:
                return {
                    "transaction": transaction_to_json(block.transactions[location[2]]),
                    "cycles": None,
                    "time_added_to_pool": None,
                    "tx_status": {
                        "status": "committed",
                        "block_hash": bytes_to_json(location[0]),
                        "block_number": quantity_to_json(location[1]),
                        "tx_index": quantity_to_json(location[2]),
                        "reason": None,
                    },
                }
        reason = node.pool.rejected.get(tx_hash)
        return {
            "transaction": None,
            "cycles": None,
            "time_added_to_pool": None,
            "tx_status": {
                "status": "rejected" if reason else "unknown",
                "block_hash": None,
                "block_number": None,
                "tx_index": None,
                "reason": reason,
            },
        }

    @method(["transaction", "outputs_validator"])
    def send_transaction(p: Params) -> Any:
        tx = _parse(transaction_from_json, p.required("transaction"), "transaction")
        validator = p.optional("outputs_validator", "passthrough")
        if validator not in ("passthrough", "well_known_scripts_only"):
            raise RpcError(
                INVALID_PARAMS,
                "outputs_validator must be 'passthrough' or 'well_known_scripts_only'",
            )
        try:
            entry = node.submit_transaction(tx)
        except L1Error as exc:
            raise l1_error_to_rpc(exc) from None
        return bytes_to_json(entry.tx_hash)

    @method(["out_point", "with_data", "include_tx_pool"])
    def get_live_cell(p: Params) -> Any:
        out_point = _parse(out_point_from_json, p.required("out_point"), "out_point")
        with_data = p.optional("with_data", False)
        if not isinstance(with_data, bool):
            raise RpcError(INVALID_PARAMS, "with_data must be a boolean")
        with chain.store.read() as conn:
            status, cell = StoreCellProvider(chain.store, conn).get_cell(out_point)
        if cell is None:
            return {"cell": None, "status": status}
        data = None
        if with_data:
            data = {"content": bytes_to_json(cell.data), "hash": bytes_to_json(cell.data_hash)}
        return {
            "cell": {"output": cell_output_to_json(cell.output), "data": data},
            "status": "live",
        }

    def _search_key(p: Params) -> tuple[bytes | None, bytes | None]:
        key = p.required("search_key")
        if not isinstance(key, dict):
            raise RpcError(INVALID_PARAMS, "search_key must be an object")
        unknown = set(key) - {
            "script",
            "script_type",
            "script_search_mode",
            "filter",
            "with_data",
            "group_by_transaction",
        }
        if unknown:
            raise RpcError(INVALID_PARAMS, f"search_key: unknown field {sorted(unknown)[0]!r}")
        if key.get("filter"):
            raise RpcError(INVALID_PARAMS, "search_key.filter is not supported by this node")
        # Cells are indexed by full script hash, so searches match the script exactly (CKB's
        # indexer defaults to args-prefix matching; asking for it explicitly is refused).
        mode = key.get("script_search_mode", "exact")
        if mode != "exact":
            raise RpcError(
                INVALID_PARAMS,
                "search_key.script_search_mode: only 'exact' is supported by this node",
            )
        script = _parse(script_from_json, key.get("script"), "search_key.script")
        script_hash = compute_script_hash(script)
        script_type = key.get("script_type")
        if script_type == "lock":
            return script_hash, None
        if script_type == "type":
            return None, script_hash
        raise RpcError(INVALID_PARAMS, "search_key.script_type must be 'lock' or 'type'")

    @method(["search_key", "order", "limit", "after_cursor"])
    def get_cells(p: Params) -> Any:
        lock_hash, type_hash = _search_key(p)
        order = p.required("order")
        if order not in ("asc", "desc"):
            raise RpcError(INVALID_PARAMS, "order must be 'asc' or 'desc'")
        limit = _parse(quantity_from_json, p.required("limit"), "limit", 32)
        if not 0 < limit <= MAX_PAGE:
            raise RpcError(INVALID_PARAMS, f"limit must be between 1 and {MAX_PAGE}")
        cursor = p.optional("after_cursor")
        after = None
        if cursor is not None:
            raw = _parse(bytes_from_hex, cursor)
            after = int.from_bytes(raw, "big")
        with chain.store.read() as conn:
            rows = chain.store.search_cells(
                conn,
                lock_hash=lock_hash,
                type_hash=type_hash,
                after_id=after,
                limit=limit,
                descending=order == "desc",
            )
        objects = [
            {
                "output": cell_output_to_json(cell.output),
                "output_data": bytes_to_json(cell.data),
                "out_point": out_point_to_json(cell.out_point),
                "block_number": quantity_to_json(cell.block_number),
                "tx_index": quantity_to_json(tx_index),
            }
            for _, cell, tx_index in rows
        ]
        last = rows[-1][0] if rows else (after or 0)
        return {"objects": objects, "last_cursor": "0x" + last.to_bytes(8, "big").hex()}

    @method(["search_key"])
    def get_cells_capacity(p: Params) -> Any:
        lock_hash, _type_hash = _search_key(p)
        if lock_hash is None:
            raise RpcError(INVALID_PARAMS, "get_cells_capacity supports script_type 'lock'")
        with chain.store.read() as conn:
            capacity, _count = chain.store.total_capacity_by_lock(conn, lock_hash)
        tip = chain.tip
        return {
            "capacity": quantity_to_json(capacity),
            "block_hash": bytes_to_json(tip.hash),
            "block_number": quantity_to_json(tip.number),
        }

    @method([])
    def get_consensus(p: Params) -> Any:
        """A subset of CKB's ``get_consensus``: the parameters wallets and tools need."""
        preset = node.preset
        return {
            "id": node.spec.name,
            "genesis_hash": bytes_to_json(node.genesis.hash),
            "cellbase_maturity": quantity_to_json(
                EpochNumberWithFraction(preset.cellbase_maturity_epochs, 0, 1).full_value()
            ),
            "median_time_block_count": quantity_to_json(preset.median_time_block_count),
            "max_block_cycles": quantity_to_json(preset.max_block_cycles),
            "max_block_bytes": quantity_to_json(preset.max_block_bytes),
            "epoch_duration_target": quantity_to_json(preset.epoch_duration_target_ms // 1000),
            "tx_version": "0x0",
            "primary_epoch_reward_halving_interval": quantity_to_json(
                preset.primary_epoch_reward_halving_interval
            ),
            "initial_primary_epoch_reward": quantity_to_json(preset.initial_primary_epoch_reward),
            "max_blobs_per_block": quantity_to_json(preset.max_blobs_per_block),
            "blob_retention_blocks": quantity_to_json(preset.blob_retention_blocks),
        }

    @method([])
    def get_current_epoch(p: Params) -> Any:
        epoch = chain.tip.epoch
        return {
            "number": quantity_to_json(epoch.number),
            "start_number": quantity_to_json(epoch.start_number),
            "length": quantity_to_json(epoch.length),
            "compact_target": quantity_to_json(epoch.compact_target),
        }

    @method([])
    def get_blockchain_info(p: Params) -> Any:
        tip = chain.tip
        context = chain.header_context(tip.hash)
        return {
            "chain": node.spec.name,
            "median_time": quantity_to_json(context.median_time_ms),
            "epoch": quantity_to_json(tip.header.raw.epoch),
            "difficulty": quantity_to_json(compact_to_difficulty(tip.header.raw.compact_target)),
            "is_initial_block_download": False,
            "alerts": [],
        }

    @method([])
    def local_node_info(p: Params) -> Any:
        return {
            "version": "rollcourt-l1/0.1.0",
            "node_id": node.network.self_url,
            "active": node.network.active,
            "addresses": [{"address": node.network.self_url, "score": "0x1"}],
            "connections": quantity_to_json(
                sum(1 for peer in node.network.peers.values() if peer.connected)
            ),
            "protocols": [{"id": "0x0", "name": "/rollcourt/http-p2p", "support_versions": ["1"]}],
        }

    @method([])
    def get_peers(p: Params) -> Any:
        return [
            {
                "node_id": peer.url,
                "addresses": [{"address": peer.url, "score": "0x1"}],
                "is_outbound": not peer.inbound,
                "connected": peer.connected,
                "last_seen": quantity_to_json(peer.last_seen_ms),
                "tip_block_number": quantity_to_json(max(peer.tip_number, 0)),
                "last_error": peer.last_error,
            }
            for peer in node.network.peers.values()
        ]

    @method(["peer_id", "address"])
    def add_node(p: Params) -> Any:
        address = p.optional("address") or p.required("peer_id")
        if not isinstance(address, str) or not is_peer_url(address.rstrip("/")):
            raise RpcError(
                INVALID_PARAMS,
                "address must be a plain http(s)://host:port URL of a rollcourt node",
            )
        node.network.add_peer(address)
        return None

    @method(["peer_id"])
    def remove_node(p: Params) -> Any:
        peer_id = p.required("peer_id")
        if not isinstance(peer_id, str):
            raise RpcError(INVALID_PARAMS, "peer_id must be a string")
        node.network.remove_peer(peer_id)
        return None

    @method(["state"])
    def set_network_active(p: Params) -> Any:
        state = p.required("state")
        if not isinstance(state, bool):
            raise RpcError(INVALID_PARAMS, "state must be a boolean")
        node.network.active = state
        return None

    @method([])
    def tx_pool_info(p: Params) -> Any:
        pool = node.pool
        tip = chain.tip
        return {
            "tip_hash": bytes_to_json(tip.hash),
            "tip_number": quantity_to_json(tip.number),
            "pending": quantity_to_json(len(pool.entries)),
            "proposed": "0x0",
            "orphan": "0x0",
            "total_tx_size": quantity_to_json(pool.total_bytes),
            "total_tx_cycles": quantity_to_json(sum(e.cycles for e in pool.entries.values())),
            "min_fee_rate": quantity_to_json(pool.min_fee_rate),
            "min_rbf_rate": quantity_to_json(pool.min_rbf_rate),
            "max_tx_pool_size": quantity_to_json(pool.max_bytes),
            "last_txs_updated_at": quantity_to_json(int(time.time() * 1000)),
        }

    @method([])
    def get_raw_tx_pool(p: Params) -> Any:
        return {"pending": [bytes_to_json(h) for h in node.pool.entries], "proposed": []}

    @method([])
    def get_system_scripts(p: Params) -> Any:
        """rollcourt extension: the deployed system scripts (CKB keeps these in hashes.toml)."""
        return {
            name: {
                "code_hash": bytes_to_json(script.code_hash),
                "hash_type": "type",
                "cell_dep": {
                    "out_point": out_point_to_json(script.cell_dep.out_point),
                    "dep_type": "code",
                },
            }
            for name, script in node.genesis.system_scripts.items()
        }

    @method(["script"])
    def compute_script_hash_rpc(p: Params) -> Any:  # exposed as compute_script_hash below
        script = _parse(script_from_json, p.required("script"), "script")
        return bytes_to_json(compute_script_hash(script))

    methods["compute_script_hash"] = methods.pop("compute_script_hash_rpc")

    @method(["transaction", "sidecars"])
    def send_blob_transaction(p: Params) -> Any:
        """rollcourt extension: a transaction with its blob sidecars (EIP-4844 network form)."""
        tx = _parse(transaction_from_json, p.required("transaction"), "transaction")
        sidecars = _parse(sidecar_list_from_json, p.required("sidecars"), "sidecars")
        try:
            entry = node.submit_transaction(tx, sidecars)
        except L1Error as exc:
            raise l1_error_to_rpc(exc) from None
        return bytes_to_json(entry.tx_hash)

    def _sidecar_row(versioned_hash: bytes) -> Any:
        with chain.store.read() as conn:
            row = chain.store.get_sidecar_by_versioned_hash(conn, versioned_hash)
        if row is None:
            raise RpcError(
                BLOB_NOT_FOUND, f"no blob with versioned hash {versioned_hash.hex()} is known"
            )
        if row.blob is None:
            raise RpcError(
                BLOB_PRUNED,
                f"blob {versioned_hash.hex()} of block {row.block_number} was pruned: this node keeps "
                f"blobs for {node.preset.blob_retention_blocks} blocks",
            )
        return row

    @method(["versioned_hash"])
    def get_blob(p: Params) -> Any:
        versioned_hash = _parse(h256_from_json, p.required("versioned_hash"), "versioned_hash")
        row = _sidecar_row(versioned_hash)
        return {
            "blob": bytes_to_json(bytes(row.blob)),
            "commitment": bytes_to_json(bytes(row.commitment)),
            "proof": bytes_to_json(bytes(row.proof)),
            "versioned_hash": bytes_to_json(versioned_hash),
            "block_hash": bytes_to_json(bytes(row.block_hash)),
            "block_number": quantity_to_json(int(row.block_number)),
            "tx_hash": bytes_to_json(bytes(row.tx_hash)),
        }

    @method(["block_hash"])
    def get_blob_sidecars(p: Params) -> Any:
        block_hash = _parse(h256_from_json, p.required("block_hash"), "block_hash")
        if block_hash not in chain.records:
            return None
        with chain.store.read() as conn:
            rows = chain.store.get_block_sidecars(conn, block_hash)
        if any(row.blob is None for row in rows):
            raise RpcError(BLOB_PRUNED, f"the blobs of block {block_hash.hex()} were pruned")
        return [
            {
                "tx_hash": bytes_to_json(bytes(row.tx_hash)),
                "index": quantity_to_json(int(row.blob_index)),
                **sidecar_to_json(
                    BlobSidecar(bytes(row.blob), bytes(row.commitment), bytes(row.proof))
                ),
            }
            for row in rows
        ]

    @method(["versioned_hash", "indices"])
    def get_blob_cells(p: Params) -> Any:
        """EIP-7594 cells with their cell KZG proofs, computed once per blob and cached."""
        versioned_hash = _parse(h256_from_json, p.required("versioned_hash"), "versioned_hash")
        raw_indices = p.required("indices")
        if (
            not isinstance(raw_indices, list)
            or not raw_indices
            or len(raw_indices) > CELLS_PER_EXT_BLOB
        ):
            raise RpcError(
                INVALID_PARAMS, f"indices must be a list of 1 to {CELLS_PER_EXT_BLOB} cell indices"
            )
        indices = [
            _parse(quantity_from_json, i, f"indices[{n}]", 32) for n, i in enumerate(raw_indices)
        ]
        if any(i >= CELLS_PER_EXT_BLOB for i in indices) or len(set(indices)) != len(indices):
            raise RpcError(
                INVALID_PARAMS, f"indices must be distinct and below {CELLS_PER_EXT_BLOB}"
            )
        row = _sidecar_row(versioned_hash)
        if node.config.fault == "withhold-cells":
            raise RpcError(BLOB_NOT_FOUND, "cells are not available")
        cells, proofs = node.get_blob_cells(versioned_hash, bytes(row.blob))
        result = []
        for index in indices:
            cell = cells[index]
            if node.config.fault == "corrupt-cells":
                cell = bytes([cell[0], cell[1] ^ 0x01]) + cell[2:]
            result.append(
                {
                    "index": quantity_to_json(index),
                    "cell": bytes_to_json(cell),
                    "proof": bytes_to_json(proofs[index]),
                }
            )
        return {
            "versioned_hash": bytes_to_json(versioned_hash),
            "commitment": bytes_to_json(bytes(row.commitment)),
            "cells": result,
        }

    @method(["block_hash"])
    def get_block_blob_transactions(p: Params) -> Any:
        """rollcourt extension for light clients: the block's blob-carrying transactions, with a
        CBMT proof of their hashes under the header's ``transactions_root``.

        ``transactions`` are CKB JSON plus ``tx_index``; ``tx_hashes_proof`` proves their hashes
        (merkle-cbt order: tree indices sorted by leaf value) in the tx-hash CBMT whose root is
        ``tx_hashes_root``; ``transactions_root == ckbhash(tx_hashes_root || witnesses_root)``.
        ``null`` for an unknown or invalid block.
        """
        from l1.ckb.cbmt import build_cbmt_proof, cbmt_root
        from l1.ckb.hashes import compute_tx_hash, compute_witness_hash

        block_hash = _parse(h256_from_json, p.required("block_hash"), "block_hash")
        record = chain.records.get(block_hash)
        if record is None or record.status == "invalid":
            return None
        block = chain.get_block(block_hash)
        if block is None:
            return None
        tx_hashes = [compute_tx_hash(tx) for tx in block.transactions]
        witness_hashes = [compute_witness_hash(tx) for tx in block.transactions]
        chosen = [i for i, tx in enumerate(block.transactions) if tx.raw.blob_versioned_hashes]
        proof = build_cbmt_proof(tx_hashes, chosen) if chosen else None
        return {
            "block_hash": bytes_to_json(block_hash),
            "block_number": quantity_to_json(block.header.raw.number),
            "transactions": [
                {**transaction_to_json(block.transactions[i]), "tx_index": quantity_to_json(i)}
                for i in chosen
            ],
            "tx_hashes_root": bytes_to_json(cbmt_root(tx_hashes)),
            "tx_hashes_proof": None
            if proof is None
            else {
                "indices": [quantity_to_json(i) for i in proof.indices],
                "lemmas": [bytes_to_json(lemma) for lemma in proof.lemmas],
            },
            "witnesses_root": bytes_to_json(cbmt_root(witness_hashes)),
        }

    if node.config.dev_rpc:
        from l1.node.miner import build_template, solve

        @method([])
        def generate_block(p: Params) -> Any:
            """CKB's IntegrationTest ``generate_block``: mine one block now (real PoW)."""
            template, sidecars = build_template(
                chain,
                node.pool,
                node.miner_lock(),
                max(int(time.time() * 1000), chain.tip.timestamp + 1),
            )
            solved = None
            start = 0
            while solved is None:
                solved = solve(template, 4096, start)
                start += 4096
            try:
                node.submit_block(solved, sidecars, source="rpc")
            except L1Error as exc:
                raise RpcError(BLOCK_REJECTED, f"{type(exc).__name__}: {exc}") from None
            return bytes_to_json(compute_header_hash(solved.header))

    return methods


def bytes_from_hex(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) % 2:
        raise ValueError(f"after_cursor must be 0x-prefixed hex, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ValueError(f"after_cursor must be 0x-prefixed hex, got {value!r}") from None
