"""The L2 commands: ``deposit``, ``transfer``, ``withdraw``, ``claim``, ``balance``, ``tx status``.

They talk to the sequencer's REST API through ``l2.client.sequencer`` and, for deposits and
claims, to the L1 through ``l2.client.bridge``. The sequencer URL comes from, in order:
``--sequencer``; ``$ROLLCOURT_SEQUENCER_URL``; the ``url`` of the ``sequencer`` role in
``./devnet-data/devnet.json``; ``http://127.0.0.1:8200``.

L2 keys are the same 32-byte private keys as L1 keys (``rollcourt keys new``), so ``--key`` takes a
key file, a hex private key or ``devnet:N`` here too; the public key is derived with the rollup's
profile (33-byte secp256k1 on an optimistic rollup, 32-byte Baby Jubjub on a validity one). Every refusal of
the sequencer is one ``error:`` line with its message and code (``rollcourt.cli.reports_errors``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from l2.client.sequencer import (
    DEFAULT_SEQUENCER_URL,
    SequencerClient,
    SequencerError,
    SequencerUnreachable,
    TxView,
    WaitTimeout,
)
from l2.preset import get_preset
from l2.profile import Profile, get_preset_profile
from rollcourt.amounts import format_ckb, parse_ckb_amount
from rollcourt.config import DEFAULT_DATA_DIR, DEVNET_FILE_NAME, get_devnet_role_url
from rollcourt.errors import (
    InvalidAmount,
    InvalidArguments,
    InvalidKey,
    RollcourtError,
    TransferFailed,
)
from rollcourt.keys import KeyPair, get_key_file_permissions_warning, load_key, parse_lock_args

__all__ = [
    "SEQUENCER_URL_ENV",
    "SequencerRefused",
    "SequencerUnavailable",
    "register",
    "resolve_rollup_id",
    "resolve_sequencer_url",
]

SEQUENCER_URL_ENV = "ROLLCOURT_SEQUENCER_URL"
MAX_FEE = (1 << 48) - 1
MAX_ACCOUNT = (1 << 32) - 1
WAIT_STATUSES = ("soft", "safe", "final")
_HEX32 = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_ZERO = re.compile(r"\+?(0+(\.0*)?|\.0+)")
_OUT_POINT = re.compile(r"(0x)?([0-9a-fA-F]{64}):(\d+)")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


# ---------------------------------------------------------------------------- errors
class SequencerRefused(RollcourtError):
    """The sequencer answered with an error (its message and code, verbatim)."""


class SequencerUnavailable(RollcourtError):
    """No usable answer from the sequencer."""


@contextlib.contextmanager
def sequencer_errors(what: str) -> Iterator[None]:
    """Turn ``SequencerError``s into one-line ``RollcourtError``s saying what was refused."""
    try:
        yield
    except SequencerUnreachable as exc:
        raise SequencerUnavailable(
            f"{exc.message} (start one with `python -m sequencer`, or pass --sequencer URL)"
        ) from None
    except WaitTimeout as exc:
        raise SequencerUnavailable(exc.message) from None
    except SequencerError as exc:
        if exc.status == 0 or exc.code == "bad_response":
            raise SequencerUnavailable(exc.message) from None
        raise SequencerRefused(f"sequencer refused {what}: {exc.message} ({exc.code})") from None


# ---------------------------------------------------------------------------- resolution
def _devnet_file() -> Path:
    return DEFAULT_DATA_DIR / DEVNET_FILE_NAME


def resolve_sequencer_url(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    from_env = os.environ.get(SEQUENCER_URL_ENV, "").strip()
    if from_env:
        return from_env
    return get_devnet_role_url(_devnet_file(), "sequencer", "url") or DEFAULT_SEQUENCER_URL


def _parse_bytes32(text: str, what: str) -> bytes:
    if not _HEX32.fullmatch(text.strip()):
        raise InvalidArguments(f"{what} must be 32 bytes of hex (64 hex digits), got {text!r}")
    return bytes.fromhex(text.strip().removeprefix("0x"))


def resolve_rollup_id(explicit: str | None = None) -> bytes:
    """``--rollup-id``, else the ``rollup_id`` of devnet.json's ``sequencer`` role."""
    if explicit:
        return _parse_bytes32(explicit, "--rollup-id")
    from_devnet = get_devnet_role_url(_devnet_file(), "sequencer", "rollup_id")
    if from_devnet is None:
        raise InvalidArguments(
            f"no rollup id: pass --rollup-id (no sequencer rollup_id in {_devnet_file()})"
        )
    return _parse_bytes32(from_devnet, f"the rollup_id in {_devnet_file()}")


def _parse_fee(text: str) -> int:
    """A fee in CKB: like an amount, but 0 is allowed; at most a u48 of shannons."""
    if _ZERO.fullmatch(text.strip()):
        return 0
    try:
        shannons = parse_ckb_amount(text)
    except InvalidAmount as exc:
        raise InvalidAmount(f"--fee: {exc}") from None
    if shannons > MAX_FEE:
        raise InvalidAmount(f"--fee {text.strip()!r} CKB is above the largest L2 fee (a u48)")
    return shannons


def _load_key(spec: str) -> KeyPair:
    key = load_key(spec)
    if not key.is_public and key.source not in ("hex key", "new key"):
        warning = get_key_file_permissions_warning(Path(key.source))
        if warning:
            err.print(Text.assemble(("warning: ", "bold yellow"), warning))
    return key


_HEX33 = re.compile(r"(0x)?[0-9a-fA-F]{66}")


def _parse_l2_key(spec: str) -> bytes | KeyPair:
    """``--l2-key`` before the rollup is known: a public key (``pub:HEX``, or 66 hex digits: a
    33-byte secp256k1 key) as bytes, else any ``--key`` form loaded (errors before any I/O)."""
    text = spec.strip()
    if text.startswith("pub:") or _HEX33.fullmatch(text):
        try:
            return bytes.fromhex(text.removeprefix("pub:").removeprefix("0x"))
        except ValueError:
            raise InvalidKey(f"--l2-key: {text!r} is not a hex public key") from None
    try:
        return _load_key(spec)
    except InvalidKey as exc:
        raise InvalidKey(f"--l2-key: {exc} (or a public key: pub:HEX)") from None


def _l2_public_key(key: bytes | KeyPair, profile: Profile) -> bytes:
    """The L2 public key in the rollup's profile: a given public key must have its size (33
    bytes on an optimistic rollup, 32 on a validity one); a private key is derived with it (the
    same private key signs on either profile)."""
    if isinstance(key, KeyPair):
        return profile.compute_public_key(key.private_key)
    if len(key) != profile.public_key_size:
        raise InvalidKey(
            f"--l2-key: a {profile.name} rollup's public keys are {profile.public_key_size} "
            f"bytes, got {len(key)}"
        )
    return key


def _parse_out_point(text: str) -> Any:
    from l1.ckb.types import OutPoint

    match = _OUT_POINT.fullmatch(text.strip())
    if not match or int(match.group(3)) >= 1 << 32:
        raise InvalidArguments(
            f"--withdrawal must be TX_HASH:INDEX (0x + 64 hex digits), got {text!r}"
        )
    return OutPoint(bytes.fromhex(match.group(2)), int(match.group(3)))


# ---------------------------------------------------------------------------- output
def _print_json(content: Any) -> None:
    typer.echo(json.dumps(content, indent=2))


def _rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.print(Text.assemble((f"{label:<{width}}  ", "bold"), value))


def _tx_rows(view: TxView) -> list[tuple[str, str]]:
    rows = [("tx hash", "0x" + view.hash.hex()), ("status", view.status)]
    if view.soft_index is not None:
        rows.append(("soft index", str(view.soft_index)))
    if view.batch is not None:
        rows.append(("batch", f"{view.batch['number']} ({view.batch['status']})"))
    if view.error:
        rows.append(("error", view.error))
    return rows


def _client(url: str | None) -> SequencerClient:
    with sequencer_errors("the request"):
        return SequencerClient(resolve_sequencer_url(url), timeout=30.0)


def _check_owner(client: SequencerClient, index: int, key: KeyPair) -> int:
    """The account's next nonce, after checking ``key`` is the account's key."""
    with sequencer_errors(f"account {index}"):
        account = client.get_account(index)
        public_key = client.rollup_config().profile.compute_public_key(key.private_key)
    if account.public_key != public_key:
        raise InvalidKey(
            f"{key.source or 'the key'} is not account {index}'s key (its public key is "
            f"0x{account.public_key.hex()}, this key's is 0x{public_key.hex()})"
        )
    return account.pending_nonce


def _wait(client: SequencerClient, view: TxView, wait: str | None, timeout: float) -> TxView:
    if wait is None:
        return view
    with sequencer_errors("the transaction"):
        return client.wait_for_status(view.hash, wait, timeout)  # type: ignore[arg-type]


def _check_wait(wait: str | None) -> None:
    if wait is not None and wait not in WAIT_STATUSES:
        raise InvalidArguments(f"--wait must be one of soft, safe, final, got {wait!r}")


def _check_account(index: int, what: str) -> None:
    if not 0 <= index <= MAX_ACCOUNT:
        raise InvalidArguments(f"{what} must be an account index in 0..{MAX_ACCOUNT}, got {index}")


# ---------------------------------------------------------------------------- options
SequencerOption = Annotated[
    str | None,
    typer.Option(
        "--sequencer",
        help=f"sequencer URL (default: ${SEQUENCER_URL_ENV}, else the sequencer URL in "
        f"./devnet-data/devnet.json, else {DEFAULT_SEQUENCER_URL})",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
L2KeyOption = Annotated[
    str,
    typer.Option(
        "--key",
        help="the L2 account's key: key file, 32-byte hex private key, or devnet:N",
        show_default=False,
    ),
]
FeeOption = Annotated[str, typer.Option("--fee", help="fee in CKB, paid to the sequencer")]
NonceOption = Annotated[
    int | None,
    typer.Option("--nonce", help="nonce (default: the account's next)", min=0, show_default=False),
]
WaitOption = Annotated[
    str | None,
    typer.Option("--wait", help="wait until soft, safe or final", show_default=False),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="seconds --wait waits at most", min=0)
]
RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        help="L1 node JSON-RPC URL (default: $ROLLCOURT_L1_RPC, else the l1 URL in "
        "./devnet-data/devnet.json, else http://127.0.0.1:8114)",
        show_default=False,
    ),
]
RollupIdOption = Annotated[
    str | None,
    typer.Option(
        "--rollup-id",
        help="the rollup's 32-byte id (default: roles.sequencer.rollup_id in devnet.json)",
        show_default=False,
    ),
]


# ---------------------------------------------------------------------------- commands
def _submitted(view: TxView, what: str, as_json: bool) -> None:
    if as_json:
        _print_json(view.raw)
        return
    _rows(_tx_rows(view))
    err.print(what, markup=False)


def _submit_signed(
    key: str,
    from_index: int,
    nonce: int | None,
    sequencer: str | None,
    wait: str | None,
    timeout: float,
    what: str,
    submit: Callable[[SequencerClient, bytes, int], TxView],
) -> TxView:
    """Load the key, check it owns the account, sign and submit with the next nonce (unless
    one is given), then wait for the requested status."""
    sender = _load_key(key)
    with _client(sequencer) as client:
        next_nonce = _check_owner(client, from_index, sender)
        with sequencer_errors(what):
            view = submit(client, sender.private_key, next_nonce if nonce is None else nonce)
        return _wait(client, view, wait, timeout)


def transfer(
    key: L2KeyOption,
    from_index: Annotated[int, typer.Option("--from", help="sender's L2 account index")],
    to_index: Annotated[int, typer.Option("--to", help="recipient's L2 account index")],
    amount: Annotated[str, typer.Option("--amount", help="CKB to send, up to 8 decimals")],
    fee: FeeOption = "0",
    nonce: NonceOption = None,
    sequencer: SequencerOption = None,
    wait: WaitOption = None,
    timeout: TimeoutOption = 120.0,
    as_json: JsonOption = False,
) -> None:
    """Send CKB from one L2 account to another (signed, submitted to the sequencer)."""
    shannons = parse_ckb_amount(amount)
    fee_shannons = _parse_fee(fee)
    _check_account(from_index, "--from")
    _check_account(to_index, "--to")
    _check_wait(wait)
    view = _submit_signed(
        key, from_index, nonce, sequencer, wait, timeout, "the transfer",
        lambda client, private_key, tx_nonce: client.submit_transfer(
            private_key, from_index, to_index, shannons, fee_shannons, tx_nonce
        ),
    )  # fmt: skip
    _submitted(
        view,
        f"sent {format_ckb(shannons)} CKB from account {from_index} to account {to_index} "
        f"(fee {format_ckb(fee_shannons)} CKB, nonce {view.nonce})",
        as_json,
    )


def withdraw(
    key: L2KeyOption,
    from_index: Annotated[int, typer.Option("--from", help="the L2 account to withdraw from")],
    amount: Annotated[str, typer.Option("--amount", help="CKB to withdraw (at least 61)")],
    to_l1: Annotated[
        str,
        typer.Option("--to-l1", help="L1 recipient: 20-byte hex lock args or devnet:N"),
    ],
    fee: FeeOption = "0",
    nonce: NonceOption = None,
    sequencer: SequencerOption = None,
    wait: WaitOption = None,
    timeout: TimeoutOption = 120.0,
    as_json: JsonOption = False,
) -> None:
    """Withdraw CKB from an L2 account to an L1 lock (then `rollcourt claim` it on L1)."""
    shannons = parse_ckb_amount(amount)
    fee_shannons = _parse_fee(fee)
    _check_account(from_index, "--from")
    recipient = parse_lock_args(to_l1)
    _check_wait(wait)
    view = _submit_signed(
        key, from_index, nonce, sequencer, wait, timeout, "the withdrawal",
        lambda client, private_key, tx_nonce: client.submit_withdraw(
            private_key, from_index, shannons, recipient, fee_shannons, tx_nonce
        ),
    )  # fmt: skip
    _submitted(
        view,
        f"withdrawing {format_ckb(shannons)} CKB from account {from_index} to L1 lock args "
        f"0x{recipient.hex()} (fee {format_ckb(fee_shannons)} CKB, nonce {view.nonce})",
        as_json,
    )


def balance(
    account: Annotated[int, typer.Option("--account", help="L2 account index")],
    sequencer: SequencerOption = None,
    as_json: JsonOption = False,
) -> None:
    """An L2 account's soft balance and nonce."""
    _check_account(account, "--account")
    with _client(sequencer) as client, sequencer_errors(f"account {account}"):
        view = client.get_account(account)
    if as_json:
        _print_json(
            {
                "account": view.index,
                "public_key": "0x" + view.public_key.hex(),
                "balance": format_ckb(view.balance),
                "balance_shannons": view.balance,
                "nonce": view.nonce,
                "pending_nonce": view.pending_nonce,
                "queued_nonces": list(view.queued_nonces),
            }
        )
        return
    rows = [
        ("account", str(view.index)),
        ("public key", "0x" + view.public_key.hex()),
        ("balance", f"{format_ckb(view.balance)} CKB ({view.balance} shannons)"),
        ("nonce", str(view.nonce)),
    ]
    if view.pending_nonce != view.nonce:
        rows.append(("pending nonce", str(view.pending_nonce)))
    _rows(rows)


def tx_status(
    tx_hash: Annotated[str, typer.Argument(help="the L2 transaction hash (0x + 64 hex digits)")],
    wait: WaitOption = None,
    timeout: TimeoutOption = 120.0,
    sequencer: SequencerOption = None,
    as_json: JsonOption = False,
) -> None:
    """An L2 transaction's status (pending, soft, safe, final) and batch."""
    _check_wait(wait)
    raw = _parse_bytes32(tx_hash, "the transaction hash")
    with _client(sequencer) as client:
        with sequencer_errors("the query"):
            view = client.get_transaction(raw)
        view = _wait(client, view, wait, timeout)
    if as_json:
        _print_json(view.raw)
        return
    _rows(_tx_rows(view))


def deposit(
    key: Annotated[
        str,
        typer.Option(
            "--key",
            help="L1 key paying the deposit: key file, hex key or devnet:N",
            show_default=False,
        ),
    ],
    amount: Annotated[str, typer.Option("--amount", help="CKB to deposit")],
    l2_key: Annotated[
        str,
        typer.Option(
            "--l2-key",
            help="the L2 account's key (file, hex private key, devnet:N) or its public key "
            "(pub:HEX; 33 bytes on an optimistic rollup, 32 on a validity one): the sequencer "
            "credits the account with this key, or creates one",
            show_default=False,
        ),
    ],
    rollup_id: RollupIdOption = None,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deposit CKB from L1 into the rollup (an L1 deposit cell the sequencer picks up)."""
    from l1.ckb.json import bytes_to_json
    from l2.client.bridge import RollupL1
    from rollcourt.config import resolve_l1_rpc
    from rollcourt.rpc import NodeClient

    shannons = parse_ckb_amount(amount)
    l2_key_given = _parse_l2_key(l2_key)
    rid = resolve_rollup_id(rollup_id)
    payer = _load_key(key)
    with NodeClient(resolve_l1_rpc(rpc)) as client:
        l1 = RollupL1(client)
        try:
            cell = l1.find_rollup_cell(rid)
        except LookupError:
            raise InvalidArguments(
                f"no rollup 0x{rid.hex()} on the L1 at {client.url} (check --rollup-id)"
            ) from None
        public_key = _l2_public_key(
            l2_key_given, get_preset_profile(get_preset(cell.state.l2_preset))
        )
        try:
            tx_hash = l1.deposit(payer.private_key, rid, public_key, shannons)
        except ValueError as exc:
            raise TransferFailed(f"cannot deposit: {exc}") from None
    result: dict[str, Any] = {
        "tx_hash": bytes_to_json(tx_hash),
        "deposit_out_point": f"{bytes_to_json(tx_hash)}:0",
        "rollup_id": "0x" + rid.hex(),
        "l2_public_key": "0x" + public_key.hex(),
        "amount": format_ckb(shannons),
        "amount_shannons": shannons,
    }
    if as_json:
        _print_json(result)
        return
    _rows([("tx hash", bytes_to_json(tx_hash)), ("deposit", f"{bytes_to_json(tx_hash)}:0")])
    err.print(
        f"deposited {format_ckb(shannons)} CKB for L2 key 0x{public_key.hex()}; the sequencer "
        "credits it once the deposit is committed on L1",
        markup=False,
    )


def claim(
    key: Annotated[
        str,
        typer.Option(
            "--key",
            help="the L1 recipient's key: key file, hex key or devnet:N",
            show_default=False,
        ),
    ],
    withdrawal: Annotated[
        str | None,
        typer.Option("--withdrawal", help="the withdrawal cell, TX_HASH:INDEX", show_default=False),
    ] = None,
    claim_all: Annotated[
        bool, typer.Option("--all", help="claim every live withdrawal cell of this key")
    ] = False,
    rollup_id: RollupIdOption = None,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claim L1 withdrawal cells to the key's default lock. A withdrawal cell exists once its
    batch is finalized on L1 (the sequencer finalizes it once its challenge window passed with
    no open dispute game); the owner's signature is then all a claim needs."""
    from l1.ckb.json import bytes_to_json
    from l1.client import L1RpcError
    from l1.core.scripts.base import VerifierFailure
    from l2.client.bridge import RollupL1
    from rollcourt.config import resolve_l1_rpc
    from rollcourt.errors import NodeRpcError
    from rollcourt.rpc import NodeClient

    if (withdrawal is None) == (not claim_all):
        raise InvalidArguments("give exactly one of --withdrawal or --all")
    out_point = None if withdrawal is None else _parse_out_point(withdrawal)
    owner = _load_key(key)
    claimed: list[dict[str, str]] = []
    with NodeClient(resolve_l1_rpc(rpc)) as client:
        l1 = RollupL1(client)
        if out_point is not None:
            targets = [out_point]
        else:
            rid = resolve_rollup_id(rollup_id)
            targets = [
                cell.out_point
                for cell in l1.scan(rid).withdrawals
                if cell.args.owner_lock_args == owner.lock_args
                and l1.get_live_cell(cell.out_point) is not None
            ]
            if not targets:
                raise TransferFailed(
                    f"no live withdrawal cells of 0x{owner.lock_args.hex()} in rollup 0x{rid.hex()}"
                )
        for target in targets:
            name = f"{bytes_to_json(target.tx_hash)}:{target.index}"
            if l1.get_live_cell(target) is None:
                raise TransferFailed(
                    f"withdrawal cell {name} is not live (already claimed, or its batch is not "
                    "finalized on L1 yet)"
                )
            try:
                tx_hash = l1.claim_withdrawal(owner.private_key, target)
            except (LookupError, VerifierFailure) as exc:
                raise TransferFailed(f"cannot claim {name}: {exc}") from None
            except (L1RpcError, NodeRpcError) as exc:
                message = exc.message if isinstance(exc, L1RpcError) else str(exc)
                raise TransferFailed(_explain_claim_refusal(name, message)) from None
            claimed.append({"withdrawal": name, "tx_hash": bytes_to_json(tx_hash)})
    if as_json:
        _print_json({"claims": claimed})
        return
    for item in claimed:
        _rows([("withdrawal", item["withdrawal"]), ("claim tx", item["tx_hash"])])


def _explain_claim_refusal(name: str, message: str) -> str:
    """One line that says why the L1 refused a claim, in the user's terms."""
    if "PoolDuplicate" in message:
        return f"a claim of {name} is already pending on L1 (the L1 said: {message})"
    return f"the L1 refused the claim of {name}: {message}"


def register(app: typer.Typer, wrap: Callable[[Any], Any]) -> None:
    """Add the L2 commands to the ``rollcourt`` app, each wrapped by ``wrap``
    (``rollcourt.cli.reports_errors``)."""
    app.command("deposit")(wrap(deposit))
    app.command("transfer")(wrap(transfer))
    app.command("withdraw")(wrap(withdraw))
    app.command("claim")(wrap(claim))
    app.command("balance")(wrap(balance))
    tx_app = typer.Typer(help="L2 transactions.", no_args_is_help=True)
    tx_app.command("status")(wrap(tx_status))
    app.add_typer(tx_app, name="tx")
