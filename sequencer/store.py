"""The sequencer's persistent store, through SQLAlchemy Core (SQLite file by default, any URL
such as PostgreSQL accepted).

Durability is the database's: a submission's rows (the new transaction, its soft execution
result, promoted or replaced entries) are written in one transaction, and the API answers 2xx
only after that commit.  SQLite runs in WAL mode with ``synchronous=FULL`` so a commit survives
``kill -9`` and power loss.  ``transactions.soft_index`` is unique: no transaction can hold two
positions of the soft chain, and each batch owns a contiguous range of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)

from l2.config import RollupConfig
from l2.state import L2State
from l2.tx import Deposit, L1Deposit, Withdraw, decode_record
from sequencer.entries import BatchRecord, TxEntry
from sequencer.executor import DepositEntry, SoftEntry

__all__ = ["Store"]

metadata = MetaData()

transactions = Table(
    "transactions",
    metadata,
    Column("hash", LargeBinary(32), primary_key=True),
    Column("record", LargeBinary(124), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("sender", BigInteger, nullable=False, index=True),
    Column("nonce", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("l1_recipient", LargeBinary(20), index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("soft_index", BigInteger, unique=True),
    Column("post_root", LargeBinary(32)),
    Column("receipt", Text),
    Column("error", Text),
    Column("replaced_by", LargeBinary(32)),
    Column("batch_number", BigInteger, index=True),
    Column("position", Integer),
    Column("received_at", Float, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("number", BigInteger, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("commitment", LargeBinary, nullable=False),
    Column("commitment_hash", LargeBinary(32), nullable=False),
    Column("first_soft_index", BigInteger, nullable=False, unique=True),
    Column("tx_count", Integer, nullable=False),
    Column("prev_root", LargeBinary(32), nullable=False),
    Column("new_root", LargeBinary(32), nullable=False),
    Column("state", LargeBinary, nullable=False),
    Column("l1_tx_hash", LargeBinary(32)),
    Column("sealed_at", Float, nullable=False),
    #: The new root's parts SubmitBatch carries (docs/disputes.md §1). Added after the first
    #: release: ``Store._migrate`` adds and backfills them (from ``state``) in older stores.
    Column("accounts_root", LargeBinary(32)),
    Column("next_account_index", BigInteger),
)

#: L1 deposits credited on L2 (catalogue B1): one row per deposit cell (``out_point`` unique),
#: written in the same database transaction as its soft ``Deposit`` row (``tx_hash``).
deposits = Table(
    "deposits",
    metadata,
    Column("deposit_index", BigInteger, primary_key=True),
    Column("out_point", LargeBinary(36), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("l1_block", BigInteger, nullable=False),
    Column("tx_hash", LargeBinary(32), nullable=False, unique=True),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """Typed access to the tables; mutating methods take the caller's open transaction."""

    def __init__(self, url: str, config: RollupConfig) -> None:
        self.url = url
        self.config = config
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a store made by an earlier version up to this schema, in one transaction:
        ``batches.accounts_root`` and ``batches.next_account_index`` (added for SubmitBatch v2)
        are added (plain ``ALTER TABLE ... ADD COLUMN``, nullable: SQLite and PostgreSQL alike)
        and filled from each batch's post-state snapshot."""
        columns = {c["name"] for c in inspect(self.engine).get_columns("batches")}
        missing = [
            (name, kind)
            for name, kind in (("accounts_root", "accounts_root"), ("next_account_index", "index"))
            if name not in columns
        ]
        if not missing:
            return
        binary = "BYTEA" if self.engine.dialect.name == "postgresql" else "BLOB"
        with self.engine.begin() as conn:
            for name, kind in missing:
                sql_type = binary if kind == "accounts_root" else "BIGINT"
                conn.execute(text(f"ALTER TABLE batches ADD COLUMN {name} {sql_type}"))
            rows = conn.execute(select(batches.c.number, batches.c.state)).all()
            for number, raw in rows:
                state = L2State.decode(bytes(raw), self.config.profile)
                conn.execute(
                    update(batches)
                    .where(batches.c.number == number)
                    .values(
                        accounts_root=state.get_accounts_root(),
                        next_account_index=state.next_account_index,
                    )
                )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

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

    # ------------------------------------------------------------------ transactions
    @staticmethod
    def _tx_values(entry: SoftEntry) -> dict[str, Any]:
        tx = entry.tx
        return {
            "record": entry.record,
            "kind": int(tx.kind),
            "sender": entry.sender,
            "nonce": entry.nonce,
            "fee": entry.fee,
            "l1_recipient": tx.l1_recipient if isinstance(tx, Withdraw) else None,
            "status": entry.status,
            "soft_index": entry.soft_index,
            "post_root": entry.post_root,
            "receipt": entry.receipt,
            "error": entry.error,
            "replaced_by": entry.replaced_by,
            "batch_number": entry.batch_number,
            "position": entry.position,
            "received_at": entry.received_at,
        }

    def save_txs(self, conn: Connection, entries: Sequence[SoftEntry]) -> None:
        """Insert or update each entry (by hash), in order."""
        for entry in entries:
            values = self._tx_values(entry)
            result = conn.execute(
                update(transactions).where(transactions.c.hash == entry.hash).values(**values)
            )
            if result.rowcount == 0:
                conn.execute(insert(transactions).values(hash=entry.hash, **values))

    def _entry(self, row: Any) -> TxEntry:
        entry = self._soft_entry(row)
        if not isinstance(entry, TxEntry):
            raise RuntimeError(f"stored transaction {bytes(row.hash).hex()} is a deposit")
        return entry

    def _soft_entry(self, row: Any) -> SoftEntry:
        tx = decode_record(bytes(row.record), self.config.profile)
        if isinstance(tx, Deposit):
            return DepositEntry(
                hash=bytes(row.hash),
                tx=tx,
                record=bytes(row.record),
                status=row.status,
                received_at=row.received_at,
                soft_index=row.soft_index,
                post_root=None if row.post_root is None else bytes(row.post_root),
                receipt=row.receipt,
                batch_number=row.batch_number,
                position=row.position,
            )
        return TxEntry(
            hash=bytes(row.hash),
            tx=tx,
            record=bytes(row.record),
            status=row.status,
            received_at=row.received_at,
            soft_index=row.soft_index,
            post_root=None if row.post_root is None else bytes(row.post_root),
            receipt=row.receipt,
            error=row.error,
            replaced_by=None if row.replaced_by is None else bytes(row.replaced_by),
            batch_number=row.batch_number,
            position=row.position,
        )

    def get_tx(self, conn: Connection, tx_hash: bytes) -> TxEntry | None:
        """A signed transaction by hash (``None`` for unknown hashes and for deposits)."""
        row = conn.execute(select(transactions).where(transactions.c.hash == tx_hash)).first()
        if row is None or row.kind == int(Deposit.kind):
            return None
        return self._entry(row)

    def get_soft_entry(self, conn: Connection, tx_hash: bytes) -> SoftEntry | None:
        row = conn.execute(select(transactions).where(transactions.c.hash == tx_hash)).first()
        return None if row is None else self._soft_entry(row)

    def load_soft_txs(self, conn: Connection, from_soft_index: int) -> list[SoftEntry]:
        rows = conn.execute(
            select(transactions)
            .where(transactions.c.soft_index >= from_soft_index)
            .order_by(transactions.c.soft_index)
        )
        return [self._soft_entry(row) for row in rows]

    # ------------------------------------------------------------------ deposits
    def insert_deposit(
        self, conn: Connection, deposit: L1Deposit, l1_block: int, tx_hash: bytes
    ) -> None:
        conn.execute(
            insert(deposits).values(
                deposit_index=deposit.deposit_index,
                out_point=deposit.out_point,
                public_key=deposit.public_key,
                amount=deposit.amount,
                l1_block=l1_block,
                tx_hash=tx_hash,
            )
        )

    def list_deposits(
        self, conn: Connection, start: int = 0, limit: int = 100, tx_hash: bytes | None = None
    ) -> list[dict[str, Any]]:
        """Credited deposits with their soft transaction's account, soft index and batch."""
        query = select(
            deposits,
            transactions.c.soft_index,
            transactions.c.batch_number,
            transactions.c.record,
        ).join(transactions, transactions.c.hash == deposits.c.tx_hash)
        if tx_hash is not None:
            query = query.where(deposits.c.tx_hash == tx_hash)
        rows = conn.execute(
            query.where(deposits.c.deposit_index >= start)
            .order_by(deposits.c.deposit_index)
            .limit(limit)
        )
        out = []
        for row in rows:
            tx = decode_record(bytes(row.record), self.config.profile)
            assert isinstance(tx, Deposit)
            out.append(
                {
                    "deposit_index": row.deposit_index,
                    "out_point": bytes(row.out_point),
                    "public_key": bytes(row.public_key),
                    "amount": row.amount,
                    "l1_block": row.l1_block,
                    "tx_hash": bytes(row.tx_hash),
                    "to_index": tx.to_index,
                    "soft_index": row.soft_index,
                    "batch_number": row.batch_number,
                }
            )
        return out

    def load_deposits(self, conn: Connection) -> list[L1Deposit]:
        """Every credited deposit, in queue order."""
        rows = conn.execute(select(deposits).order_by(deposits.c.deposit_index))
        return [
            L1Deposit(bytes(r.out_point), r.deposit_index, bytes(r.public_key), r.amount)
            for r in rows
        ]

    def load_pending(self, conn: Connection) -> list[TxEntry]:
        rows = conn.execute(
            select(transactions)
            .where(transactions.c.status == "pending")
            .order_by(transactions.c.sender, transactions.c.nonce)
        )
        return [self._entry(row) for row in rows]

    def get_batch_tx_hashes(self, conn: Connection, number: int) -> list[bytes]:
        rows = conn.execute(
            select(transactions.c.hash)
            .where(transactions.c.batch_number == number)
            .order_by(transactions.c.position)
        )
        return [bytes(row.hash) for row in rows]

    def get_withdrawals(
        self,
        conn: Connection,
        *,
        sender: int | None = None,
        l1_recipient: bytes | None = None,
        limit: int = 100,
    ) -> list[TxEntry]:
        query = select(transactions).where(
            transactions.c.kind == 3, transactions.c.soft_index.is_not(None)
        )
        if sender is not None:
            query = query.where(transactions.c.sender == sender)
        if l1_recipient is not None:
            query = query.where(transactions.c.l1_recipient == l1_recipient)
        rows = conn.execute(query.order_by(transactions.c.soft_index).limit(limit))
        return [self._entry(row) for row in rows]

    def count_withdrawals_before(self, conn: Connection, batch_number: int, position: int) -> int:
        """How many withdrawals the batch holds before ``position`` (the L1 withdrawal cells of
        the batch's FinalizeBatch follow the batch's withdrawals in order)."""
        return int(
            conn.execute(
                select(func.count()).where(
                    transactions.c.batch_number == batch_number,
                    transactions.c.kind == int(Withdraw.kind),
                    transactions.c.position < position,
                )
            ).scalar_one()
        )

    def count_by_status(self, conn: Connection) -> dict[str, int]:
        rows = conn.execute(
            select(transactions.c.status, func.count()).group_by(transactions.c.status)
        )
        return {str(status): int(count) for status, count in rows}

    # ------------------------------------------------------------------ batches
    def insert_batch(self, conn: Connection, batch: BatchRecord, tx_hashes: list[bytes]) -> None:
        """The batch row and its transactions' (batch, position), in the caller's transaction."""
        conn.execute(
            insert(batches).values(
                number=batch.number,
                status=batch.status,
                commitment=batch.commitment,
                commitment_hash=batch.commitment_hash,
                first_soft_index=batch.first_soft_index,
                tx_count=batch.tx_count,
                prev_root=batch.prev_root,
                new_root=batch.new_root,
                state=batch.state,
                l1_tx_hash=batch.l1_tx_hash,
                sealed_at=batch.sealed_at,
                accounts_root=batch.accounts_root,
                next_account_index=batch.next_account_index,
            )
        )
        for position, tx_hash in enumerate(tx_hashes):
            result = conn.execute(
                update(transactions)
                .where(transactions.c.hash == tx_hash, transactions.c.batch_number.is_(None))
                .values(batch_number=batch.number, position=position)
            )
            if result.rowcount != 1:
                raise RuntimeError(f"transaction {tx_hash.hex()} is missing or already batched")

    def update_batch(
        self, conn: Connection, number: int, status: str, l1_tx_hash: bytes | None
    ) -> None:
        conn.execute(
            update(batches)
            .where(batches.c.number == number)
            .values(status=status, l1_tx_hash=l1_tx_hash)
        )

    def discard_batches_from(self, conn: Connection, number: int, from_soft_index: int) -> None:
        """Delete the batches ``>= number`` (and their post intents) and take every soft
        transaction from ``from_soft_index`` out of the soft chain (soft index, batch and
        position cleared), in the caller's transaction: the caller writes them back re-sequenced
        (``Sequencer.recover_refused``)."""
        numbers = [
            int(n)
            for (n,) in conn.execute(select(batches.c.number).where(batches.c.number >= number))
        ]
        conn.execute(delete(batches).where(batches.c.number >= number))
        if numbers:
            conn.execute(delete(meta).where(meta.c.key.in_([f"post_intent:{n}" for n in numbers])))
        conn.execute(
            update(transactions)
            .where(transactions.c.soft_index >= from_soft_index)
            .values(soft_index=None, batch_number=None, position=None)
        )

    @staticmethod
    def _batch(row: Any) -> BatchRecord:
        return BatchRecord(
            number=row.number,
            status=row.status,
            commitment=bytes(row.commitment),
            commitment_hash=bytes(row.commitment_hash),
            first_soft_index=row.first_soft_index,
            tx_count=row.tx_count,
            prev_root=bytes(row.prev_root),
            new_root=bytes(row.new_root),
            state=bytes(row.state),
            l1_tx_hash=None if row.l1_tx_hash is None else bytes(row.l1_tx_hash),
            sealed_at=row.sealed_at,
            accounts_root=bytes(row.accounts_root),
            next_account_index=row.next_account_index,
        )

    def get_batch(self, conn: Connection, number: int) -> BatchRecord | None:
        row = conn.execute(select(batches).where(batches.c.number == number)).first()
        return None if row is None else self._batch(row)

    def get_latest_batch(
        self, conn: Connection, statuses: tuple[str, ...] = ()
    ) -> BatchRecord | None:
        query = select(batches)
        if statuses:
            query = query.where(batches.c.status.in_(statuses))
        row = conn.execute(query.order_by(batches.c.number.desc()).limit(1)).first()
        return None if row is None else self._batch(row)

    def list_batches(self, conn: Connection, start: int, limit: int) -> list[BatchRecord]:
        rows = conn.execute(
            select(batches).where(batches.c.number >= start).order_by(batches.c.number).limit(limit)
        )
        return [self._batch(row) for row in rows]

    def count_batches_by_status(self, conn: Connection) -> dict[str, int]:
        rows = conn.execute(select(batches.c.status, func.count()).group_by(batches.c.status))
        return {str(status): int(count) for status, count in rows}

    def list_unfinished_batches(self, conn: Connection) -> list[BatchRecord]:
        rows = conn.execute(
            select(batches).where(batches.c.status != "final").order_by(batches.c.number)
        )
        return [self._batch(row) for row in rows]
