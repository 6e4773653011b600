"""The node's persistent store, through SQLAlchemy (SQLite file by default, any URL accepted).

Crash safety comes from the database: every change of the chain (a stored block, a whole reorg)
is one transaction, so ``kill -9`` at any moment leaves either the old chain or the new one.
Tables hold raw molecule bytes (the canonical encoding) plus the few columns the node queries by.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)

from l1.ckb.types import Block, CellOutput, Header, OutPoint, Script, Transaction
from l1.core.blobs import BlobSidecar
from l1.core.cells import CellMeta
from l1.core.epoch import EpochExt

__all__ = ["BlockRecord", "Store"]

metadata = MetaData()

blocks = Table(
    "blocks",
    metadata,
    Column("hash", LargeBinary(32), primary_key=True),
    Column("number", BigInteger, nullable=False, index=True),
    Column("parent_hash", LargeBinary(32), nullable=False),
    Column("header", LargeBinary, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("total_difficulty", String(80), nullable=False),
    Column("epoch", Text, nullable=False),
    # "header": header rules passed, body not yet verified; "valid"; "invalid".
    Column("status", String(16), nullable=False),
    Column("error", Text),
    # False while a block within the retention window waits for its blob sidecars.
    Column("available", Boolean, nullable=False, default=True),
    Column("fees", BigInteger),
    Column("primary_reward", BigInteger),
    Column("cellbase_lock", LargeBinary),
)

main_chain = Table(
    "main_chain",
    metadata,
    Column("number", BigInteger, primary_key=True),
    Column("hash", LargeBinary(32), nullable=False),
)

transactions = Table(
    "transactions",
    metadata,
    Column("tx_hash", LargeBinary(32), primary_key=True),
    Column("block_hash", LargeBinary(32), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("output_count", Integer, nullable=False),
)

cells = Table(
    "cells",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tx_hash", LargeBinary(32), nullable=False),
    Column("out_index", Integer, nullable=False),
    Column("output", LargeBinary, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("lock_hash", LargeBinary(32), nullable=False, index=True),
    Column("type_hash", LargeBinary(32), index=True),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", LargeBinary(32), nullable=False, index=True),
    Column("block_epoch", BigInteger, nullable=False),
    Column("block_timestamp", BigInteger, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("is_cellbase", Boolean, nullable=False),
)

# Undo log: the cells a main-chain block consumed, to restore them when it is detached.
block_undo = Table(
    "block_undo",
    metadata,
    Column("block_hash", LargeBinary(32), primary_key=True),
    Column("consumed", LargeBinary, nullable=False),
)

# Blob sidecars beside blocks (EIP-4844). ``blob`` becomes NULL when pruned; the commitment
# stays so that what was committed remains known.
blob_sidecars = Table(
    "blob_sidecars",
    metadata,
    Column("block_hash", LargeBinary(32), primary_key=True),
    Column("tx_hash", LargeBinary(32), primary_key=True),
    Column("blob_index", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False, index=True),
    Column("versioned_hash", LargeBinary(32), nullable=False, index=True),
    Column("commitment", LargeBinary(48), nullable=False),
    Column("proof", LargeBinary(48), nullable=False),
    Column("blob", LargeBinary),
)

# EIP-7594 cells and cell proofs, computed once per blob and kept until the blob is pruned.
blob_cells = Table(
    "blob_cells",
    metadata,
    Column("versioned_hash", LargeBinary(32), primary_key=True),
    Column("cells", LargeBinary, nullable=False),
    Column("proofs", LargeBinary, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(slots=True)
class BlockRecord:
    """A block's index entry, kept in memory for fork choice and ancestry walks."""

    hash: bytes
    header: Header
    total_difficulty: int
    epoch: EpochExt
    status: str
    available: bool = True
    fees: int | None = None
    primary_reward: int | None = None
    cellbase_lock: Script | None = None
    error: str | None = None

    @property
    def number(self) -> int:
        return self.header.raw.number

    @property
    def parent_hash(self) -> bytes:
        return self.header.raw.parent_hash

    @property
    def timestamp(self) -> int:
        return self.header.raw.timestamp


def epoch_to_json(epoch: EpochExt) -> str:
    return json.dumps(
        {
            "number": epoch.number,
            "start_number": epoch.start_number,
            "length": epoch.length,
            "compact_target": epoch.compact_target,
            "base_block_reward": epoch.base_block_reward,
            "remainder_reward": epoch.remainder_reward,
            "previous_epoch_hash_rate": str(epoch.previous_epoch_hash_rate),
            "last_block_hash_in_previous_epoch": epoch.last_block_hash_in_previous_epoch.hex(),
        }
    )


def epoch_from_json(text: str) -> EpochExt:
    obj = json.loads(text)
    return EpochExt(
        number=obj["number"],
        start_number=obj["start_number"],
        length=obj["length"],
        compact_target=obj["compact_target"],
        base_block_reward=obj["base_block_reward"],
        remainder_reward=obj["remainder_reward"],
        previous_epoch_hash_rate=int(obj["previous_epoch_hash_rate"]),
        last_block_hash_in_previous_epoch=bytes.fromhex(obj["last_block_hash_in_previous_epoch"]),
    )


def _serialize_cells(cell_list: tuple[CellMeta, ...] | list[CellMeta]) -> bytes:
    return json.dumps(
        [
            [
                c.out_point.tx_hash.hex(),
                c.out_point.index,
                c.output.serialize().hex(),
                c.data.hex(),
                c.block_number,
                c.block_hash.hex(),
                c.block_epoch,
                c.block_timestamp,
                c.is_cellbase,
            ]
            for c in cell_list
        ]
    ).encode()


def _deserialize_cells(data: bytes) -> list[CellMeta]:
    return [
        CellMeta(
            OutPoint(bytes.fromhex(tx), index),
            CellOutput.deserialize(bytes.fromhex(out)),
            bytes.fromhex(d),
            number,
            bytes.fromhex(bh),
            epoch,
            ts,
            cb,
        )
        for tx, index, out, d, number, bh, epoch, ts, cb in json.loads(data)
    ]


class Store:
    """Thin typed access to the tables. Every mutating method takes the open connection of the
    caller's transaction, so a reorg commits or rolls back as a whole."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ meta
    def get_meta(self, conn: Connection, key: str) -> str | None:
        row = conn.execute(select(meta.c.value).where(meta.c.key == key)).first()
        return None if row is None else str(row[0])

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        if self.get_meta(conn, key) is None:
            conn.execute(insert(meta).values(key=key, value=value))
        else:
            conn.execute(update(meta).where(meta.c.key == key).values(value=value))

    # ------------------------------------------------------------------ blocks
    def insert_block(self, conn: Connection, record: BlockRecord, block: Block) -> None:
        conn.execute(
            insert(blocks).values(
                hash=record.hash,
                number=record.number,
                parent_hash=record.parent_hash,
                header=record.header.serialize(),
                body=block.serialize(),
                total_difficulty=str(record.total_difficulty),
                epoch=epoch_to_json(record.epoch),
                status=record.status,
                available=record.available,
            )
        )

    def update_block_status(self, conn: Connection, record: BlockRecord) -> None:
        conn.execute(
            update(blocks)
            .where(blocks.c.hash == record.hash)
            .values(
                status=record.status,
                available=record.available,
                error=record.error,
                fees=record.fees,
                primary_reward=record.primary_reward,
                cellbase_lock=None
                if record.cellbase_lock is None
                else record.cellbase_lock.serialize(),
            )
        )

    def load_block_records(self, conn: Connection) -> list[BlockRecord]:
        rows = conn.execute(
            select(
                blocks.c.hash,
                blocks.c.header,
                blocks.c.total_difficulty,
                blocks.c.epoch,
                blocks.c.status,
                blocks.c.available,
                blocks.c.fees,
                blocks.c.primary_reward,
                blocks.c.cellbase_lock,
                blocks.c.error,
            ).order_by(blocks.c.number)
        ).all()
        return [
            BlockRecord(
                hash=row.hash,
                header=Header.deserialize(row.header),
                total_difficulty=int(row.total_difficulty),
                epoch=epoch_from_json(row.epoch),
                status=row.status,
                available=bool(row.available),
                fees=row.fees,
                primary_reward=row.primary_reward,
                cellbase_lock=None
                if row.cellbase_lock is None
                else Script.deserialize(row.cellbase_lock),
                error=row.error,
            )
            for row in rows
        ]

    def get_block_body(self, conn: Connection, block_hash: bytes) -> bytes | None:
        row = conn.execute(select(blocks.c.body).where(blocks.c.hash == block_hash)).first()
        return None if row is None else bytes(row[0])

    # ------------------------------------------------------------------ main chain
    def load_main_chain(self, conn: Connection) -> list[bytes]:
        rows = conn.execute(select(main_chain.c.hash).order_by(main_chain.c.number)).all()
        return [bytes(row[0]) for row in rows]

    def set_main(self, conn: Connection, number: int, block_hash: bytes) -> None:
        conn.execute(delete(main_chain).where(main_chain.c.number == number))
        conn.execute(insert(main_chain).values(number=number, hash=block_hash))

    def unset_main(self, conn: Connection, number: int) -> None:
        conn.execute(delete(main_chain).where(main_chain.c.number == number))

    # ------------------------------------------------------------------ transactions
    def insert_transactions(
        self, conn: Connection, block_hash: bytes, number: int, txs: list[tuple[bytes, Transaction]]
    ) -> None:
        if txs:
            conn.execute(
                insert(transactions),
                [
                    {
                        "tx_hash": tx_hash,
                        "block_hash": block_hash,
                        "block_number": number,
                        "tx_index": index,
                        "output_count": len(tx.raw.outputs),
                    }
                    for index, (tx_hash, tx) in enumerate(txs)
                ],
            )

    def delete_transactions(self, conn: Connection, block_hash: bytes) -> None:
        conn.execute(delete(transactions).where(transactions.c.block_hash == block_hash))

    def get_transaction_location(
        self, conn: Connection, tx_hash: bytes
    ) -> tuple[bytes, int, int, int] | None:
        """(block hash, block number, index in block, output count) on the main chain."""
        row = conn.execute(
            select(
                transactions.c.block_hash,
                transactions.c.block_number,
                transactions.c.tx_index,
                transactions.c.output_count,
            ).where(transactions.c.tx_hash == tx_hash)
        ).first()
        return None if row is None else (bytes(row[0]), int(row[1]), int(row[2]), int(row[3]))

    # ------------------------------------------------------------------ cells
    def get_live_cell(self, conn: Connection, out_point: OutPoint) -> CellMeta | None:
        row = conn.execute(
            select(cells).where(
                cells.c.tx_hash == out_point.tx_hash, cells.c.out_index == out_point.index
            )
        ).first()
        return None if row is None else _cell_from_row(row)

    def insert_cells(
        self, conn: Connection, created: list[tuple[CellMeta, bytes, bytes | None, int]]
    ) -> None:
        """Insert (cell, lock hash, type hash, tx index in block) rows."""
        if created:
            conn.execute(
                insert(cells),
                [
                    {
                        "tx_hash": c.out_point.tx_hash,
                        "out_index": c.out_point.index,
                        "output": c.output.serialize(),
                        "data": c.data,
                        "lock_hash": lock_hash,
                        "type_hash": type_hash,
                        "block_number": c.block_number,
                        "block_hash": c.block_hash,
                        "block_epoch": c.block_epoch,
                        "block_timestamp": c.block_timestamp,
                        "tx_index": tx_index,
                        "is_cellbase": c.is_cellbase,
                    }
                    for c, lock_hash, type_hash, tx_index in created
                ],
            )

    def delete_cell(self, conn: Connection, out_point: OutPoint) -> None:
        conn.execute(
            delete(cells).where(
                cells.c.tx_hash == out_point.tx_hash, cells.c.out_index == out_point.index
            )
        )

    def delete_cells_of_block(self, conn: Connection, block_hash: bytes) -> None:
        conn.execute(delete(cells).where(cells.c.block_hash == block_hash))

    def search_cells(
        self,
        conn: Connection,
        *,
        lock_hash: bytes | None,
        type_hash: bytes | None,
        after_id: int | None,
        limit: int,
        descending: bool,
    ) -> list[tuple[int, CellMeta, int]]:
        """Live cells by lock or type script hash, paginated by row id: (id, cell, tx index)."""
        query = select(cells)
        if lock_hash is not None:
            query = query.where(cells.c.lock_hash == lock_hash)
        if type_hash is not None:
            query = query.where(cells.c.type_hash == type_hash)
        if after_id is not None:
            query = query.where(cells.c.id < after_id if descending else cells.c.id > after_id)
        query = query.order_by(cells.c.id.desc() if descending else cells.c.id).limit(limit)
        return [
            (int(row.id), _cell_from_row(row), int(row.tx_index)) for row in conn.execute(query)
        ]

    def total_capacity_by_lock(self, conn: Connection, lock_hash: bytes) -> tuple[int, int]:
        rows = conn.execute(select(cells.c.output).where(cells.c.lock_hash == lock_hash)).all()
        return sum(CellOutput.deserialize(row[0]).capacity for row in rows), len(rows)

    # ------------------------------------------------------------------ blobs
    def insert_sidecars(
        self,
        conn: Connection,
        block_hash: bytes,
        number: int,
        sidecars: dict[bytes, tuple[BlobSidecar, ...]],
    ) -> None:
        rows = [
            {
                "block_hash": block_hash,
                "tx_hash": tx_hash,
                "blob_index": index,
                "block_number": number,
                "versioned_hash": sidecar.versioned_hash,
                "commitment": sidecar.commitment,
                "proof": sidecar.proof,
                "blob": sidecar.blob,
            }
            for tx_hash, items in sidecars.items()
            for index, sidecar in enumerate(items)
        ]
        if rows:
            conn.execute(delete(blob_sidecars).where(blob_sidecars.c.block_hash == block_hash))
            conn.execute(insert(blob_sidecars), rows)

    def get_block_sidecars(self, conn: Connection, block_hash: bytes) -> list[Any]:
        """Rows (tx_hash, blob_index, versioned_hash, commitment, proof, blob|None) of a block."""
        return list(
            conn.execute(
                select(blob_sidecars)
                .where(blob_sidecars.c.block_hash == block_hash)
                .order_by(blob_sidecars.c.tx_hash, blob_sidecars.c.blob_index)
            ).all()
        )

    def get_sidecar_by_versioned_hash(self, conn: Connection, versioned_hash: bytes) -> Any:
        return conn.execute(
            select(blob_sidecars)
            .where(blob_sidecars.c.versioned_hash == versioned_hash)
            .order_by(blob_sidecars.c.block_number.desc())
        ).first()

    def count_stored_blobs(self, conn: Connection) -> int:
        """Blobs whose bytes are still held (not pruned): what ``/metrics`` reports."""
        return int(
            conn.execute(
                select(func.count())
                .select_from(blob_sidecars)
                .where(blob_sidecars.c.blob.is_not(None))
            ).scalar_one()
        )

    def prune_blobs(self, conn: Connection, below_number: int) -> int:
        """Forget blob bytes of blocks below ``below_number``; commitments stay."""
        condition = (blob_sidecars.c.block_number < below_number) & blob_sidecars.c.blob.is_not(
            None
        )
        pruned = [
            row[0] for row in conn.execute(select(blob_sidecars.c.versioned_hash).where(condition))
        ]
        if not pruned:
            return 0
        conn.execute(update(blob_sidecars).where(condition).values(blob=None))
        conn.execute(delete(blob_cells).where(blob_cells.c.versioned_hash.in_(pruned)))
        return len(pruned)

    def get_cells(self, conn: Connection, versioned_hash: bytes) -> tuple[bytes, bytes] | None:
        row = conn.execute(
            select(blob_cells.c.cells, blob_cells.c.proofs).where(
                blob_cells.c.versioned_hash == versioned_hash
            )
        ).first()
        return None if row is None else (bytes(row[0]), bytes(row[1]))

    def put_cells(
        self, conn: Connection, versioned_hash: bytes, cells: bytes, proofs: bytes
    ) -> None:
        conn.execute(delete(blob_cells).where(blob_cells.c.versioned_hash == versioned_hash))
        conn.execute(
            insert(blob_cells).values(versioned_hash=versioned_hash, cells=cells, proofs=proofs)
        )

    # ------------------------------------------------------------------ undo
    def put_undo(self, conn: Connection, block_hash: bytes, consumed: tuple[CellMeta, ...]) -> None:
        conn.execute(delete(block_undo).where(block_undo.c.block_hash == block_hash))
        conn.execute(
            insert(block_undo).values(block_hash=block_hash, consumed=_serialize_cells(consumed))
        )

    def pop_undo(self, conn: Connection, block_hash: bytes) -> list[CellMeta]:
        row = conn.execute(
            select(block_undo.c.consumed).where(block_undo.c.block_hash == block_hash)
        ).first()
        if row is None:
            raise LookupError(f"no undo data for block {block_hash.hex()}")
        conn.execute(delete(block_undo).where(block_undo.c.block_hash == block_hash))
        return _deserialize_cells(bytes(row[0]))


def _cell_from_row(row: Any) -> CellMeta:
    return CellMeta(
        OutPoint(bytes(row.tx_hash), int(row.out_index)),
        CellOutput.deserialize(bytes(row.output)),
        bytes(row.data),
        int(row.block_number),
        bytes(row.block_hash),
        int(row.block_epoch),
        int(row.block_timestamp),
        bool(row.is_cellbase),
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
