"""Sequencer configuration: one settings object, from ``ROLLCOURT_SEQ_*`` environment variables
or ``python -m sequencer`` flags (DESIGN.md §1: one configuration object per service).

Protocol identity (chain id, rollup id, preset, fee account) and policy (mempool limits, batch
thresholds) live here; the pure ``l2`` core only ever sees the ``RollupConfig`` built from it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from l1.ckb.hashing import ckbhash
from l1.devnet_keys import DEVNET_KEYS
from l2.config import RollupConfig
from l2.preset import SHANNONS_PER_CKB, get_preset
from l2.profile import OPTIMISTIC, PROFILES, Profile, get_preset_profile
from l2.state import Account
from sequencer.faults import WRONG_ROOT, WrongRootFault, parse_wrong_root_fault

__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEFAULT_ROLLUP_ID",
    "DEVNET_GENESIS_BALANCE",
    "FAULT_PRESETS",
    "SequencerConfig",
    "load_genesis_accounts",
    "parse_fault",
    "parse_private_key",
]

#: The devnet rollup's chain id and rollup id until the bridge derives the rollup id from the
#: rollup cell's type hash (docs/protocol.md §1).
DEFAULT_CHAIN_ID = 0x0C0DE
DEFAULT_ROLLUP_ID = ckbhash(b"rollcourt devnet rollup").hex()
#: L2 presets that accept a test-only ``fault`` (mirrors the L1 node's devnet/test restriction).
FAULT_PRESETS = ("devnet", "test")
#: The censoring fault: ``ignore-deposits-of HEX_L2_PUBKEY``; the other is ``wrong-root KIND
#: [FROM_BATCH]`` (``sequencer.faults``).
IGNORE_DEPOSITS_OF = "ignore-deposits-of"
#: What each devnet genesis account holds: one million CKB (not backed by L1 deposits).
DEVNET_GENESIS_BALANCE = 1_000_000 * SHANNONS_PER_CKB


class SequencerConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLCOURT_SEQ_", extra="forbid")

    data_dir: Path = Field(
        default=Path("./devnet-data/sequencer"),
        description="where the sequencer keeps its lock file and (by default) its database",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite file in data_dir"
    )
    host: str = "127.0.0.1"
    port: int = 8200
    #: ``devnet`` (the devnet keys, index i = devnet key i) or a JSON file
    #: ``[{"public_key": "0x..", "balance": n}, ...]`` (account i = entry i).
    genesis_accounts: str = "devnet"
    chain_id: int = Field(default=DEFAULT_CHAIN_ID, ge=0, lt=1 << 32)
    #: 32 bytes, hex (with or without 0x).  Without an L1 (``l1_url``) the default is the devnet
    #: rollup id; with one, ``None`` means "the rollup this data dir deployed" (deployed on first
    #: start with the windows below and the sequencer's genesis root, then kept in the store).
    rollup_id: str | None = None
    #: The sequencer's L2 account, credited with every fee (devnet: key 0's account).
    fee_account: int = Field(default=0, ge=0, lt=1 << 32)
    preset: str = "devnet"
    #: Cut a batch when this many soft transactions wait (capped by the preset's maximum).
    batch_max_txs: int = Field(default=512, ge=1)
    #: ... or when the oldest unbatched soft transaction is this many seconds old.
    batch_interval: float = Field(default=5.0, gt=0)
    #: A nonce at most this far above the account's soft nonce waits in the queue.
    max_nonce_gap: int = Field(default=16, ge=0)
    #: Queued (pending) transactions per account, and in all.
    max_pending_per_account: int = Field(default=16, ge=1)
    max_pending_total: int = Field(default=10_000, ge=1)
    #: Smallest fee accepted (policy; the protocol allows 0).
    min_fee: int = Field(default=0, ge=0, lt=1 << 48)
    #: A replacement must pay at least old fee x (100 + bump) / 100.
    replacement_fee_bump_percent: int = Field(default=10, ge=0)
    #: Transactions in one bulk request.
    max_bulk: int = Field(default=256, ge=1)
    #: Largest accepted HTTP request body, in bytes.
    max_request_bytes: int = Field(default=1_000_000, ge=1024)
    log_level: str = "info"

    # ---------------------------------------------------------------- the L1 (sequencer.poster)
    #: JSON-RPC URL of an L1 node; unset: no L1 (``NullPoster``, devnet genesis accounts).
    l1_url: str | None = None
    #: The proposer's L1 private key: 32 bytes hex, or ``devnet:N`` (devnet key N).
    proposer_key: str | None = None
    #: Rollup deployment parameters (used only when this data dir deploys the rollup).
    challenge_window: int = Field(default=100, ge=1, lt=1 << 56)
    forced_inclusion_window: int = Field(default=200, ge=1, lt=1 << 56)
    escape_timeout: int = Field(default=1_000, ge=1, lt=1 << 56)
    bond: int = Field(default=500 * SHANNONS_PER_CKB, ge=0, lt=1 << 64)
    #: Blocks each side of a dispute game has for all its moves (docs/disputes.md §4).
    game_clock: int = Field(default=100, ge=1, lt=1 << 56)
    #: Burnt share of a lost bond, per mille.
    burn_permille: int = Field(default=500, ge=0, le=1000)
    #: A posted batch is ``safe`` once its L1 transaction has this many blocks on top.
    safe_confirmations: int = Field(default=3, ge=0)
    #: A deposit is credited on L2 once its L1 block has this many confirmations (itself
    #: included): the sequencer's guard against L1 reorgs of deposits (catalogue B2).
    deposit_confirmations: int = Field(default=3, ge=1)
    #: Seconds between L1 polls (deposit watcher, poster) when nothing fails.
    l1_poll_interval: float = Field(default=1.0, gt=0)
    #: Cap of the exponential backoff after L1 failures (catalogue R6), seconds.
    l1_max_backoff: float = Field(default=30.0, gt=0)

    # ---------------------------------------------------------------- validity mode
    #: The prover service (``python -m prover``) of a validity rollup (an L2 preset whose
    #: profile is ``validity``): each sealed batch's witness goes there, and the batch is posted
    #: together with its proof (docs/validity.md).  Required with an L1 on a validity preset.
    prover_url: str | None = None
    #: Seconds a batch may wait for its proof before the sequencer reports itself degraded.
    proof_timeout: float = Field(default=600.0, gt=0)

    # ---------------------------------------------------------------- test-only fault injection
    #: ``ignore-deposits-of HEX_L2_PUBKEY`` (devnet/test presets only): the deposit watcher never
    #: credits a deposit naming that L2 key, forced ones included -- a censoring sequencer, whose
    #: batches the L1 refuses once the deposit is forced (docs/rollup-on-l1.md "ForceDeposit").
    fault: str | None = None

    @field_validator("rollup_id")
    @classmethod
    def _check_rollup_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        raw = value.removeprefix("0x")
        try:
            decoded = bytes.fromhex(raw)
        except ValueError:
            raise ValueError("rollup_id must be hex") from None
        if len(decoded) != 32:
            raise ValueError(f"rollup_id must be 32 bytes, got {len(decoded)}")
        return raw.lower()

    @field_validator("preset")
    @classmethod
    def _check_preset(cls, value: str) -> str:
        get_preset(value)
        return value

    @field_validator("fault")
    @classmethod
    def _check_fault(cls, value: str | None) -> str | None:
        if value is None:
            return None
        words = value.split()
        if words and words[0] == WRONG_ROOT:
            parse_wrong_root_fault(words)
        else:
            parse_fault(value)
        return " ".join(words)

    @model_validator(mode="after")
    def _check_prover(self) -> SequencerConfig:
        validity = get_preset(self.preset).profile == "validity"
        if validity and self.l1_url is not None and self.prover_url is None:
            raise ValueError(
                f"preset {self.preset!r} is a validity rollup: its batches are posted with a "
                "proof, so it needs prover_url (--prover-url, the `python -m prover` service)"
            )
        if not validity and self.prover_url is not None:
            raise ValueError(
                f"prover_url is for validity presets; {self.preset!r} is an optimistic rollup"
            )
        return self

    @model_validator(mode="after")
    def _check_fault_preset(self) -> SequencerConfig:
        if self.fault is not None and self.preset not in FAULT_PRESETS:
            raise ValueError("fault injection is only allowed on the devnet and test presets")
        return self

    def ignored_deposit_key(self) -> bytes | None:
        """The L2 public key whose deposits the ``ignore-deposits-of`` fault censors."""
        if self.fault is None or not self.fault.startswith(IGNORE_DEPOSITS_OF):
            return None
        return parse_fault(self.fault)

    def wrong_root_fault(self) -> WrongRootFault | None:
        """The ``wrong-root KIND [FROM_BATCH]`` fault (``sequencer.faults``), if configured."""
        if self.fault is None or not self.fault.startswith(WRONG_ROOT):
            return None
        return parse_wrong_root_fault(self.fault.split())

    @field_validator("proposer_key")
    @classmethod
    def _check_proposer_key(cls, value: str | None) -> str | None:
        if value is not None:
            parse_private_key(value)
        return value

    def proposer_private_key(self) -> bytes:
        if self.proposer_key is None:
            raise ValueError("proposer_key is required with an L1 (l1_url)")
        return parse_private_key(self.proposer_key)

    def rollup_config(self, rollup_id: bytes | None = None) -> RollupConfig:
        if rollup_id is None:
            rollup_id = bytes.fromhex(self.rollup_id or DEFAULT_ROLLUP_ID)
        return RollupConfig(
            chain_id=self.chain_id,
            rollup_id=rollup_id,
            fee_account=self.fee_account,
            preset=get_preset(self.preset),
            profile=get_preset_profile(get_preset(self.preset)),
        )

    def effective_batch_max_txs(self) -> int:
        return min(self.batch_max_txs, get_preset(self.preset).max_txs_per_batch)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sequencer.sqlite').resolve()}"

    def genesis(self) -> list[Account]:
        """The genesis accounts.  With an L1 the ``devnet`` accounts are not used: every L2
        balance must be backed by the rollup's custodian, so the genesis is empty (balances
        come from deposits); a JSON file is still honoured (deployed with its root)."""
        if self.l1_url is not None and self.genesis_accounts == "devnet":
            return []
        return load_genesis_accounts(
            self.genesis_accounts, get_preset_profile(get_preset(self.preset))
        )


def parse_private_key(value: str) -> bytes:
    """``devnet:N`` or 32 bytes of hex (``ValueError`` otherwise)."""
    if value.startswith("devnet:"):
        try:
            index = int(value.removeprefix("devnet:"))
        except ValueError:
            raise ValueError("bad devnet key: write devnet:N with N an integer") from None
        if not 0 <= index < len(DEVNET_KEYS):
            raise ValueError(f"devnet key index {index} out of range 0..{len(DEVNET_KEYS) - 1}")
        return DEVNET_KEYS[index].private_key
    try:
        key = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise ValueError("key must be 32 bytes of hex or devnet:N") from None
    if len(key) != 32:
        raise ValueError(f"key must be 32 bytes, got {len(key)}")
    return key


def _is_valid_key(profile: Profile, key: bytes) -> bool:
    try:
        profile.validate_public_key(key)
    except Exception:
        return False
    return True


def parse_fault(value: str) -> bytes:
    """``ignore-deposits-of HEX`` -> the 33-byte compressed L2 public key (``ValueError``
    otherwise; the key must be one the L2 accepts)."""
    parts = value.split()
    if len(parts) != 2 or parts[0] != IGNORE_DEPOSITS_OF:
        raise ValueError(
            f"fault must be '{IGNORE_DEPOSITS_OF} HEX_L2_PUBKEY' or '{WRONG_ROOT} KIND "
            f"[FROM_BATCH]', got {value!r}"
        )
    try:
        key = bytes.fromhex(parts[1].removeprefix("0x"))
    except ValueError:
        raise ValueError("fault: the L2 public key must be hex") from None
    # The fault names a depositor's key of either profile (33-byte secp256k1 or 32-byte packed
    # Baby Jubjub); a key the rollup's profile refuses never reaches the queue anyway.
    if not any(_is_valid_key(profile, key) for profile in PROFILES.values()):
        raise ValueError("fault: not a valid L2 public key of any profile")
    return key


def load_genesis_accounts(source: str, profile: Profile = OPTIMISTIC) -> list[Account]:
    """``devnet`` or a JSON file path (see ``SequencerConfig.genesis_accounts``).

    ``devnet`` gives one account per devnet key, its public key in ``profile``'s scheme (the
    same 32-byte private keys sign on either profile).  Raises ``ValueError`` with the reason for
    anything malformed."""
    if source == "devnet":
        return [
            Account(profile.compute_public_key(key.private_key), DEVNET_GENESIS_BALANCE, 0)
            for key in DEVNET_KEYS
        ]
    try:
        entries = json.loads(Path(source).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read genesis accounts from {source}: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError("genesis accounts file must hold a JSON list")
    accounts = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"public_key", "balance"}:
            raise ValueError(f"genesis entry {i} must be {{'public_key', 'balance'}}")
        key, balance = entry["public_key"], entry["balance"]
        if not isinstance(key, str) or not isinstance(balance, int) or isinstance(balance, bool):
            raise ValueError(f"genesis entry {i}: public_key is a hex string, balance an int")
        try:
            accounts.append(Account(bytes.fromhex(key.removeprefix("0x")), balance, 0))
        except Exception as exc:
            raise ValueError(f"genesis entry {i}: {exc}") from None
    return accounts
