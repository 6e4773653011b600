"""A client of the sequencer's REST API (``sequencer.app``): sign and submit transfers and
withdrawals, follow a transaction to ``soft``/``safe``/``final``, read accounts (with a Merkle proof
checked locally), batches, withdrawals and the heads.

``SequencerClient`` is synchronous (``httpx.Client``), ``AsyncSequencerClient`` the same API over
``httpx.AsyncClient``. Both sign with the rollup's domain (chain id and rollup id), read once from
``GET /v1/status`` unless given to the constructor.

Errors: every refusal is a ``SequencerError`` carrying the API's ``code``, ``message`` and HTTP
``status`` (``{"error": {"code", "message"}}``); no answer at all (refused connection, timeout) is
a ``SequencerUnreachable``; an answer that is not the API's JSON is a ``SequencerBadResponse``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

import httpx

from l2.config import RollupConfig
from l2.preset import get_preset
from l2.profile import Profile, get_preset_profile
from l2.smt import MerkleProof, verify_proof
from l2.state import compute_state_root
from l2.tx import Transfer, Withdraw, compute_tx_hash, sign_transaction

__all__ = [
    "DEFAULT_SEQUENCER_URL",
    "TX_STATUS_ORDER",
    "AccountProof",
    "AccountView",
    "AsyncSequencerClient",
    "InvalidAccountProof",
    "SequencerBadResponse",
    "SequencerClient",
    "SequencerError",
    "SequencerUnreachable",
    "TxFailed",
    "TxView",
    "WaitStatus",
    "WaitTimeout",
    "parse_rollup_config",
    "tx_to_json",
]

DEFAULT_SEQUENCER_URL: Final = "http://127.0.0.1:8200"
#: How far a transaction has come; ``wait_for_status`` waits for at least the given rung.
TX_STATUS_ORDER: Final = ("pending", "soft", "safe", "final")
#: Terminal statuses: the transaction will never execute.
TX_FAILED_STATUSES: Final = frozenset({"replaced", "dropped", "evicted"})
WaitStatus = Literal["soft", "safe", "final"]
SignedTx = Transfer | Withdraw


# ----------------------------------------------------------------------------- errors
class SequencerError(Exception):
    """The sequencer refused a request: ``code`` and ``message`` from its error JSON, ``status``
    the HTTP status (0 when there was no HTTP answer)."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.status = status


class SequencerUnreachable(SequencerError):
    """No HTTP answer from the sequencer (connection refused, timeout, bad URL)."""

    def __init__(self, message: str) -> None:
        super().__init__("unreachable", message, 0)


class SequencerBadResponse(SequencerError):
    """An answer that is not the sequencer API's JSON (wrong URL or port, a proxy page)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__("bad_response", message, status)


class TxFailed(SequencerError):
    """``wait_for_status``: the transaction reached a terminal status (replaced, dropped,
    evicted) and will never execute."""


class WaitTimeout(SequencerError):
    """``wait_for_status``: the transaction did not reach the status in time."""


class InvalidAccountProof(SequencerError):
    """The account proof does not verify against its root or against the trusted state root."""


# ----------------------------------------------------------------------------- views
def _b(value: Any) -> bytes | None:
    return None if value is None else bytes.fromhex(str(value)[2:])


@dataclass(frozen=True, slots=True)
class TxView:
    """A transaction as ``GET /v1/transactions/{hash}`` (and submission) shows it; ``raw`` is
    the whole JSON object."""

    hash: bytes
    status: str
    kind: str
    from_index: int
    amount: int
    fee: int
    nonce: int
    to_index: int | None = None
    l1_recipient: bytes | None = None
    soft_index: int | None = None
    post_root: bytes | None = None
    receipt: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    error: str | None = None
    duplicate: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TxView:
        return cls(
            hash=bytes.fromhex(obj["hash"][2:]),
            status=str(obj["status"]),
            kind=str(obj["kind"]),
            from_index=int(obj["from_index"]),
            amount=int(obj["amount"]),
            fee=int(obj["fee"]),
            nonce=int(obj["nonce"]),
            to_index=obj.get("to_index"),
            l1_recipient=_b(obj.get("l1_recipient")),
            soft_index=obj.get("soft_index"),
            post_root=_b(obj.get("post_root")),
            receipt=obj.get("receipt"),
            batch=obj.get("batch"),
            error=obj.get("error"),
            duplicate=obj.get("duplicate"),
            raw=obj,
        )

    def reached(self, status: WaitStatus) -> bool:
        return self.status in TX_STATUS_ORDER and TX_STATUS_ORDER.index(
            self.status
        ) >= TX_STATUS_ORDER.index(status)


@dataclass(frozen=True, slots=True)
class AccountView:
    """``GET /v1/accounts/{index}``: the soft balance and nonce; ``pending_nonce`` is the next
    nonce to use (past the queued ones)."""

    index: int
    public_key: bytes
    balance: int
    nonce: int
    pending_nonce: int
    queued_nonces: tuple[int, ...] = ()

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AccountView:
        return cls(
            int(obj["index"]),
            bytes.fromhex(obj["public_key"][2:]),
            int(obj["balance"]),
            int(obj["nonce"]),
            int(obj["pending_nonce"]),
            tuple(int(n) for n in obj.get("queued_nonces", ())),
        )


@dataclass(frozen=True, slots=True)
class AccountProof:
    """``GET /v1/accounts/{index}/proof``, checked locally: the leaf hash is recomputed from the
    account, the proof from it to ``accounts_root``, and ``state_root`` from that root and the
    counters (``verify``)."""

    index: int
    #: ``(public_key, balance, nonce)``, or None for an empty leaf.
    account: tuple[bytes, int, int] | None
    siblings: tuple[bytes, ...]
    accounts_root: bytes
    state_root: bytes
    next_account_index: int
    next_deposit_index: int

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AccountProof:
        acc = obj.get("account")
        return cls(
            int(obj["index"]),
            None
            if acc is None
            else (bytes.fromhex(acc["public_key"][2:]), int(acc["balance"]), int(acc["nonce"])),
            tuple(bytes.fromhex(s[2:]) for s in obj["siblings"]),
            bytes.fromhex(obj["accounts_root"][2:]),
            bytes.fromhex(obj["state_root"][2:]),
            int(obj["next_account_index"]),
            int(obj["next_deposit_index"]),
        )

    def compute_leaf_hash(self, profile: Profile) -> bytes:
        if self.account is None:
            return profile.empty_leaf_hash
        return profile.hash_leaf(*self.account)

    def verify(self, config: RollupConfig, state_root: bytes | None = None) -> None:
        """Raise ``InvalidAccountProof`` unless the leaf is in ``accounts_root`` and the state
        root follows from it -- and, if given, equals the trusted ``state_root``."""
        profile, depth = config.profile, config.preset.tree_depth
        proof = MerkleProof(self.index, self.siblings)
        if not verify_proof(
            proof, self.compute_leaf_hash(profile), self.accounts_root, profile, depth
        ):
            raise InvalidAccountProof(
                "invalid_proof",
                f"account {self.index}'s proof does not lead to accounts root "
                f"0x{self.accounts_root.hex()}",
            )
        computed = compute_state_root(
            self.accounts_root, self.next_account_index, self.next_deposit_index, profile
        )
        if computed != self.state_root:
            raise InvalidAccountProof(
                "invalid_proof", "the proof's state root does not follow from its accounts root"
            )
        if state_root is not None and computed != state_root:
            raise InvalidAccountProof(
                "root_mismatch",
                f"account {self.index}'s proof is for state root 0x{computed.hex()}, "
                f"not the trusted 0x{state_root.hex()}",
            )


def parse_rollup_config(
    status: dict[str, Any],
    *,
    chain_id: int | None = None,
    rollup_id: bytes | None = None,
    profile: Profile | None = None,
) -> RollupConfig:
    """The ``RollupConfig`` to sign with, from ``GET /v1/status`` (explicit values win; the
    profile is the preset's unless given)."""
    try:
        preset = get_preset(str(status["preset"]))
        return RollupConfig(
            chain_id=int(status["chain_id"]) if chain_id is None else chain_id,
            rollup_id=bytes.fromhex(status["rollup_id"][2:]) if rollup_id is None else rollup_id,
            fee_account=int(status["fee_account"]),
            preset=preset,
            profile=get_preset_profile(preset) if profile is None else profile,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SequencerBadResponse(
            f"cannot read the rollup's identity from /v1/status: {exc!r}", 200
        ) from None


def tx_to_json(tx: SignedTx) -> dict[str, Any]:
    """The body ``POST /v1/transactions`` takes for a signed transaction."""
    common = {"from_index": tx.from_index, "amount": tx.amount, "fee": tx.fee, "nonce": tx.nonce}
    if isinstance(tx, Transfer):
        return {"kind": "transfer", **common, "to_index": tx.to_index, "signature": _hx(tx)}
    return {
        "kind": "withdraw",
        **common,
        "l1_recipient": "0x" + tx.l1_recipient.hex(),
        "signature": _hx(tx),
    }


def _hx(tx: SignedTx) -> str:
    return "0x" + tx.signature.hex()


_V = TypeVar("_V", TxView, AccountView, AccountProof)


def _parse(cls: type[_V], body: Any) -> _V:
    """``cls.from_json(body)``; a body of the wrong shape is a ``SequencerBadResponse``."""
    try:
        return cls.from_json(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SequencerBadResponse(
            f"the sequencer sent a malformed {cls.__name__}: {exc!r}", 200
        ) from None


def _hash_text(tx_hash: bytes | str) -> str:
    return tx_hash if isinstance(tx_hash, str) else "0x" + tx_hash.hex()


def _decode(response: httpx.Response, url: str) -> Any:
    """The JSON body of a 2xx answer; the API's error as a ``SequencerError`` otherwise."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and body is not None:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and "code" in error and "message" in error:
        raise SequencerError(str(error["code"]), str(error["message"]), response.status_code)
    raise SequencerBadResponse(
        f"{url} answered HTTP {response.status_code} without the sequencer API's JSON "
        "(is this a rollcourt sequencer?)",
        response.status_code,
    )


def _transport_error(exc: httpx.HTTPError, base_url: str) -> SequencerUnreachable:
    if isinstance(exc, httpx.TimeoutException):
        return SequencerUnreachable(f"the sequencer at {base_url} did not answer in time")
    if isinstance(exc, httpx.ConnectError):
        return SequencerUnreachable(
            f"cannot connect to the sequencer at {base_url} (is one running there?)"
        )
    return SequencerUnreachable(f"HTTP error talking to the sequencer at {base_url}: {exc}")


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise SequencerUnreachable(
            f"sequencer URL must start with http:// or https://, got {url!r}"
        )
    return url.rstrip("/")


# ----------------------------------------------------------------------------- sync client
class _Base:
    def __init__(
        self,
        url: str,
        *,
        chain_id: int | None,
        rollup_id: bytes | None,
        profile: Profile | None,
    ) -> None:
        self.url = _check_url(url)
        self._chain_id = chain_id
        self._rollup_id = rollup_id
        self._profile = profile
        self._config: RollupConfig | None = None

    def _config_from(self, status: dict[str, Any]) -> RollupConfig:
        self._config = parse_rollup_config(
            status, chain_id=self._chain_id, rollup_id=self._rollup_id, profile=self._profile
        )
        return self._config

    def sign_transfer(
        self,
        config: RollupConfig,
        key: bytes,
        from_index: int,
        to_index: int,
        amount: int,
        fee: int,
        nonce: int,
    ) -> Transfer:
        return sign_transaction(Transfer(from_index, to_index, amount, fee, nonce), key, config)

    def sign_withdraw(
        self,
        config: RollupConfig,
        key: bytes,
        from_index: int,
        amount: int,
        fee: int,
        nonce: int,
        l1_recipient: bytes,
    ) -> Withdraw:
        tx = Withdraw(from_index, amount, fee, nonce, l1_recipient)
        return sign_transaction(tx, key, config)

    @staticmethod
    def _bulk_results(body: Any) -> list[TxView | SequencerError]:
        results: list[TxView | SequencerError] = []
        for item in body["results"]:
            if "error" in item and "hash" not in item:
                results.append(SequencerError(item["error"]["code"], item["error"]["message"], 0))
            else:
                results.append(_parse(TxView, item))
        return results

    @staticmethod
    def _check_wait(view: TxView, status: WaitStatus) -> bool:
        if view.status in TX_FAILED_STATUSES:
            raise TxFailed(
                view.status,
                f"transaction 0x{view.hash.hex()} was {view.status}"
                + (f": {view.error}" if view.error else ""),
            )
        return view.reached(status)

    @staticmethod
    def _wait_args(status: str) -> None:
        if status not in ("soft", "safe", "final"):
            raise ValueError(f"status must be soft, safe or final, got {status!r}")


class SequencerClient(_Base):
    """The sequencer's API, synchronously. Use as a context manager or ``close()`` it."""

    def __init__(
        self,
        url: str = DEFAULT_SEQUENCER_URL,
        *,
        chain_id: int | None = None,
        rollup_id: bytes | None = None,
        profile: Profile | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, chain_id=chain_id, rollup_id=rollup_id, profile=profile)
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def __enter__(self) -> SequencerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.url) from None
        return _decode(response, self.url + path)

    # ------------------------------------------------------------------ identity
    def rollup_config(self) -> RollupConfig:
        """The signing domain (cached after the first ``GET /v1/status``)."""
        return self._config or self._config_from(self.get_status())

    # ------------------------------------------------------------------ submission
    def _next_nonce(self, index: int, nonce: int | None) -> int:
        return self.get_account(index).pending_nonce if nonce is None else nonce

    def submit(self, tx: SignedTx) -> TxView:
        """Post one signed transaction: ``soft`` (executed) or ``pending`` (queued)."""
        return _parse(TxView, self._request("POST", "/v1/transactions", json=tx_to_json(tx)))

    def submit_transfer(
        self,
        key: bytes,
        from_index: int,
        to_index: int,
        amount: int,
        fee: int = 0,
        nonce: int | None = None,
    ) -> TxView:
        """Sign and submit a transfer; ``nonce`` defaults to the account's pending nonce."""
        config = self.rollup_config()
        nonce = self._next_nonce(from_index, nonce)
        tx = self.sign_transfer(config, key, from_index, to_index, amount, fee, nonce)
        return self.submit(tx)

    def submit_withdraw(
        self,
        key: bytes,
        from_index: int,
        amount: int,
        l1_recipient: bytes,
        fee: int = 0,
        nonce: int | None = None,
    ) -> TxView:
        """Sign and submit a withdrawal of ``amount`` to the L1 lock args ``l1_recipient``."""
        config = self.rollup_config()
        nonce = self._next_nonce(from_index, nonce)
        tx = self.sign_withdraw(config, key, from_index, amount, fee, nonce, l1_recipient)
        return self.submit(tx)

    def submit_bulk(self, txs: Sequence[SignedTx]) -> list[TxView | SequencerError]:
        """Submit signed transactions in order: one ``TxView`` or ``SequencerError`` per item
        (a refused item does not stop the others)."""
        body = self._request(
            "POST", "/v1/transactions/bulk", json={"transactions": [tx_to_json(t) for t in txs]}
        )
        return self._bulk_results(body)

    def compute_tx_hash(self, tx: SignedTx) -> bytes:
        return compute_tx_hash(tx, self.rollup_config())

    # ------------------------------------------------------------------ queries
    def get_transaction(self, tx_hash: bytes | str) -> TxView:
        return _parse(TxView, self._request("GET", f"/v1/transactions/{_hash_text(tx_hash)}"))

    def wait_for_status(
        self,
        tx_hash: bytes | str,
        status: WaitStatus = "soft",
        timeout: float = 60.0,
        poll_interval: float = 0.25,
    ) -> TxView:
        """Poll until the transaction is at least ``status``; ``TxFailed`` if it was replaced,
        dropped or evicted, ``WaitTimeout`` after ``timeout`` seconds."""
        self._wait_args(status)
        deadline = time.monotonic() + timeout
        while True:
            view = self.get_transaction(tx_hash)
            if self._check_wait(view, status):
                return view
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    "timeout",
                    f"transaction {_hash_text(tx_hash)} is still {view.status} after "
                    f"{timeout:g} s (waiting for {status})",
                )
            time.sleep(poll_interval)

    def get_account(self, index: int) -> AccountView:
        return _parse(AccountView, self._request("GET", f"/v1/accounts/{index}"))

    def get_account_proof(self, index: int, state_root: bytes | None = None) -> AccountProof:
        """The account's proof, verified locally (``AccountProof.verify``) -- against the
        trusted ``state_root`` too if given (e.g. a batch's ``new_root`` read from the L1)."""
        proof = _parse(AccountProof, self._request("GET", f"/v1/accounts/{index}/proof"))
        proof.verify(self.rollup_config(), state_root)
        return proof

    def get_batches(self, start: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        body = self._request("GET", "/v1/batches", params={"start": start, "limit": limit})
        return list(body["batches"])

    def get_batch(self, number: int) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/batches/{number}"))

    def get_status(self) -> dict[str, Any]:
        return dict(self._request("GET", "/v1/status"))

    def get_withdrawals(
        self, *, account: int | None = None, l1_recipient: bytes | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Withdrawals by L2 sender ``account`` or by ``l1_recipient`` (exactly one)."""
        params = _withdrawal_params(account, l1_recipient, limit)
        return list(self._request("GET", "/v1/withdrawals", params=params)["withdrawals"])


def _withdrawal_params(account: int | None, l1_recipient: bytes | None, limit: int) -> Any:
    params: dict[str, Any] = {"limit": limit}
    if account is not None:
        params["account"] = account
    if l1_recipient is not None:
        params["l1_recipient"] = "0x" + l1_recipient.hex()
    return params


# ----------------------------------------------------------------------------- async client
class AsyncSequencerClient(_Base):
    """``SequencerClient``'s API over ``httpx.AsyncClient`` (every method is a coroutine)."""

    def __init__(
        self,
        url: str = DEFAULT_SEQUENCER_URL,
        *,
        chain_id: int | None = None,
        rollup_id: bytes | None = None,
        profile: Profile | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, chain_id=chain_id, rollup_id=rollup_id, profile=profile)
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> AsyncSequencerClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.url) from None
        return _decode(response, self.url + path)

    async def rollup_config(self) -> RollupConfig:
        return self._config or self._config_from(await self.get_status())

    async def _next_nonce(self, index: int, nonce: int | None) -> int:
        return (await self.get_account(index)).pending_nonce if nonce is None else nonce

    async def submit(self, tx: SignedTx) -> TxView:
        body = await self._request("POST", "/v1/transactions", json=tx_to_json(tx))
        return _parse(TxView, body)

    async def submit_transfer(
        self,
        key: bytes,
        from_index: int,
        to_index: int,
        amount: int,
        fee: int = 0,
        nonce: int | None = None,
    ) -> TxView:
        config = await self.rollup_config()
        nonce = await self._next_nonce(from_index, nonce)
        return await self.submit(
            self.sign_transfer(config, key, from_index, to_index, amount, fee, nonce)
        )

    async def submit_withdraw(
        self,
        key: bytes,
        from_index: int,
        amount: int,
        l1_recipient: bytes,
        fee: int = 0,
        nonce: int | None = None,
    ) -> TxView:
        config = await self.rollup_config()
        nonce = await self._next_nonce(from_index, nonce)
        return await self.submit(
            self.sign_withdraw(config, key, from_index, amount, fee, nonce, l1_recipient)
        )

    async def submit_bulk(self, txs: Sequence[SignedTx]) -> list[TxView | SequencerError]:
        body = await self._request(
            "POST", "/v1/transactions/bulk", json={"transactions": [tx_to_json(t) for t in txs]}
        )
        return self._bulk_results(body)

    async def get_transaction(self, tx_hash: bytes | str) -> TxView:
        body = await self._request("GET", f"/v1/transactions/{_hash_text(tx_hash)}")
        return _parse(TxView, body)

    async def wait_for_status(
        self,
        tx_hash: bytes | str,
        status: WaitStatus = "soft",
        timeout: float = 60.0,
        poll_interval: float = 0.25,
    ) -> TxView:
        self._wait_args(status)
        deadline = time.monotonic() + timeout
        while True:
            view = await self.get_transaction(tx_hash)
            if self._check_wait(view, status):
                return view
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    "timeout",
                    f"transaction {_hash_text(tx_hash)} is still {view.status} after "
                    f"{timeout:g} s (waiting for {status})",
                )
            await asyncio.sleep(poll_interval)

    async def get_account(self, index: int) -> AccountView:
        return _parse(AccountView, await self._request("GET", f"/v1/accounts/{index}"))

    async def get_account_proof(self, index: int, state_root: bytes | None = None) -> AccountProof:
        body = await self._request("GET", f"/v1/accounts/{index}/proof")
        proof = _parse(AccountProof, body)
        proof.verify(await self.rollup_config(), state_root)
        return proof

    async def get_batches(self, start: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        body = await self._request("GET", "/v1/batches", params={"start": start, "limit": limit})
        return list(body["batches"])

    async def get_batch(self, number: int) -> dict[str, Any]:
        return dict(await self._request("GET", f"/v1/batches/{number}"))

    async def get_status(self) -> dict[str, Any]:
        return dict(await self._request("GET", "/v1/status"))

    async def get_withdrawals(
        self, *, account: int | None = None, l1_recipient: bytes | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        params = _withdrawal_params(account, l1_recipient, limit)
        body = await self._request("GET", "/v1/withdrawals", params=params)
        return list(body["withdrawals"])
