"""The L2 state: accounts in the sparse Merkle tree plus two counters (DESIGN.md §3).

Accounts are dense: they are created only by deposits, always at ``next_account_index``, and
never deleted, so indices ``0 .. next_account_index - 1`` exist and nothing else does.

The state root commits to everything the STF reads::

    state_root = profile.hash_node(accounts_root, counters_word)
    counters_word = (next_deposit_index << 32 | next_account_index) as 32 bytes big-endian

Why the counters are in the root: a one-step proof (DESIGN.md §4) must be able to run
``apply_transaction`` from the pre-root alone.  "This deposit is the next one in the L1 queue"
needs ``next_deposit_index`` and "this deposit creates the next account" needs
``next_account_index``; an absent-leaf proof shows an index is empty but not that it is the next
free one.  The word is below ``2**64``, so it is a field element for a Poseidon profile too.

``encode``/``decode`` give a deterministic snapshot: two states are equal iff their encodings are
byte-identical, which is how tests check "an invalid transaction left the state unchanged".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from l2.config import RollupConfig
from l2.errors import FieldOutOfRange, InvalidStateEncoding, InvalidStateUpdate
from l2.profile import MAX_PUBLIC_KEY_SIZE, Profile
from l2.smt import MerkleProof, SparseMerkleTree

__all__ = [
    "STATE_ENCODING_VERSION",
    "U32_MAX",
    "U64_MAX",
    "Account",
    "L2State",
    "compute_counters_word",
    "compute_state_root",
    "create_genesis_state",
]

U32_MAX: Final = (1 << 32) - 1
U64_MAX: Final = (1 << 64) - 1
STATE_ENCODING_VERSION: Final = 1


def _check_uint(value: int, bits: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise FieldOutOfRange(f"{what} must be a u{bits}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Account:
    """A leaf: the key that signs for the account, its balance (shannons, u64), its nonce (u32:
    the nonce the next transaction from this account must carry)."""

    public_key: bytes
    balance: int
    nonce: int

    def __post_init__(self) -> None:
        if (
            not isinstance(self.public_key, bytes)
            or not 1 <= len(self.public_key) <= MAX_PUBLIC_KEY_SIZE
        ):
            raise FieldOutOfRange(f"a public key is 1..{MAX_PUBLIC_KEY_SIZE} bytes")
        _check_uint(self.balance, 64, "balance")
        _check_uint(self.nonce, 32, "nonce")


def compute_counters_word(next_account_index: int, next_deposit_index: int) -> bytes:
    """The 32-byte word the state root commits the counters with (see the module docstring)."""
    return ((next_deposit_index << 32) | next_account_index).to_bytes(32, "big")


def compute_state_root(
    accounts_root: bytes, next_account_index: int, next_deposit_index: int, profile: Profile
) -> bytes:
    """The state root from its parts (what a one-step verifier recomputes after an update)."""
    return profile.hash_node(
        accounts_root, compute_counters_word(next_account_index, next_deposit_index)
    )


class L2State:
    """The only mutable object of the protocol: accounts, their tree, and the two counters.

    Mutation goes through ``apply_account`` and ``apply_deposit_consumed`` (used by the STF), which
    keep the tree and the account map in step.
    """

    __slots__ = ("_accounts", "next_account_index", "next_deposit_index", "profile", "tree")

    def __init__(self, depth: int, profile: Profile) -> None:
        self.profile = profile
        self.tree = SparseMerkleTree(depth, profile)
        self._accounts: dict[int, Account] = {}
        self.next_account_index = 0
        self.next_deposit_index = 0

    # ------------------------------------------------------------------ reads
    @property
    def depth(self) -> int:
        return self.tree.depth

    def get_account(self, index: int) -> Account | None:
        return self._accounts.get(index)

    def get_accounts(self) -> tuple[Account, ...]:
        """All accounts in index order."""
        return tuple(self._accounts[i] for i in range(self.next_account_index))

    def get_accounts_root(self) -> bytes:
        return self.tree.get_root()

    def get_root(self) -> bytes:
        return compute_state_root(
            self.tree.get_root(), self.next_account_index, self.next_deposit_index, self.profile
        )

    def get_proof(self, index: int) -> MerkleProof:
        """Proof of leaf ``index`` against ``get_accounts_root()``; absent leaves prove the empty
        leaf hash."""
        return self.tree.get_proof(index)

    def get_total_balance(self) -> int:
        return sum(account.balance for account in self._accounts.values())

    # ------------------------------------------------------------------ mutation
    def apply_account(self, index: int, account: Account) -> None:
        """Write account ``index`` (existing, or the next free index, which creates it)."""
        if index > self.next_account_index:
            raise InvalidStateUpdate(
                f"account {index} would leave a gap; the next free index is {self.next_account_index}"
            )
        if index >= 1 << self.depth:
            raise InvalidStateUpdate(f"account {index} is outside the {self.depth}-deep tree")
        if len(account.public_key) != self.profile.public_key_size:
            raise InvalidStateUpdate(
                f"a {self.profile.name} public key is {self.profile.public_key_size} bytes"
            )
        self._accounts[index] = account
        self.tree.apply_leaf(
            index, self.profile.hash_leaf(account.public_key, account.balance, account.nonce)
        )
        if index == self.next_account_index:
            self.next_account_index += 1

    def apply_deposit_consumed(self) -> None:
        self.next_deposit_index += 1

    # ------------------------------------------------------------------ snapshots
    def copy(self) -> L2State:
        """An independent copy: two dict copies (accounts and tree nodes are immutable)."""
        clone = L2State.__new__(L2State)
        clone.profile = self.profile
        clone.tree = self.tree.copy()
        clone._accounts = dict(self._accounts)
        clone.next_account_index = self.next_account_index
        clone.next_deposit_index = self.next_deposit_index
        return clone

    def encode(self) -> bytes:
        """``version u8 | len u8 | profile name | depth u8 | next_account u32 | next_deposit u32``
        then, for each account in index order, ``public_key | balance u64 | nonce u32`` (all
        little-endian).  Deterministic: equal states encode to identical bytes."""
        name = self.profile.name.encode()
        parts = [
            bytes([STATE_ENCODING_VERSION, len(name)]),
            name,
            bytes([self.depth]),
            self.next_account_index.to_bytes(4, "little"),
            self.next_deposit_index.to_bytes(4, "little"),
        ]
        for index in range(self.next_account_index):
            account = self._accounts[index]
            parts.append(account.public_key)
            parts.append(account.balance.to_bytes(8, "little"))
            parts.append(account.nonce.to_bytes(4, "little"))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes, profile: Profile) -> L2State:
        """Inverse of ``encode``; refuses anything ``encode`` would not produce."""
        if len(data) < 2 or data[0] != STATE_ENCODING_VERSION:
            raise InvalidStateEncoding("not a version-1 state snapshot")
        name_len = data[1]
        header_end = 2 + name_len + 9
        if len(data) < header_end:
            raise InvalidStateEncoding("truncated state header")
        name = data[2 : 2 + name_len]
        if name != profile.name.encode():
            raise InvalidStateEncoding(f"snapshot is for profile {name!r}, not {profile.name!r}")
        offset = 2 + name_len
        depth = data[offset]
        next_account = int.from_bytes(data[offset + 1 : offset + 5], "little")
        next_deposit = int.from_bytes(data[offset + 5 : offset + 9], "little")
        if not 1 <= depth <= 32 or next_account > 1 << depth:
            raise InvalidStateEncoding(f"depth {depth} with {next_account} accounts is impossible")
        key_size = profile.public_key_size
        record = key_size + 12
        if len(data) != header_end + next_account * record:
            raise InvalidStateEncoding(
                f"{next_account} accounts need {header_end + next_account * record} bytes, "
                f"got {len(data)}"
            )
        accounts: dict[int, Account] = {}
        for index in range(next_account):
            start = header_end + index * record
            accounts[index] = Account(
                data[start : start + key_size],
                int.from_bytes(data[start + key_size : start + key_size + 8], "little"),
                int.from_bytes(data[start + key_size + 8 : start + record], "little"),
            )
        return cls._from_accounts(depth, profile, accounts, next_deposit)

    @classmethod
    def _from_accounts(
        cls, depth: int, profile: Profile, accounts: dict[int, Account], next_deposit: int
    ) -> L2State:
        state = cls(depth, profile)
        state._accounts = accounts
        state.next_account_index = len(accounts)
        state.next_deposit_index = next_deposit
        state.tree = SparseMerkleTree.from_leaves(
            depth,
            profile,
            {i: profile.hash_leaf(a.public_key, a.balance, a.nonce) for i, a in accounts.items()},
        )
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, L2State):
            return NotImplemented
        return self.encode() == other.encode()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"L2State(profile={self.profile.name}, depth={self.depth}, "
            f"accounts={self.next_account_index}, deposits={self.next_deposit_index}, "
            f"root={self.get_root().hex()})"
        )


def create_genesis_state(config: RollupConfig, accounts: Sequence[Account] = ()) -> L2State:
    """A state with ``accounts`` at indices ``0, 1, ...`` and no deposit consumed.

    Genesis accounts are how the sequencer's fee account exists from the start; their keys are
    validated like a deposit's.  Genesis balances are *not* backed by L1 deposits, so a devnet
    that wants value conservation against the bridge starts them at zero.
    """
    if len(accounts) > 1 << config.preset.tree_depth:
        raise FieldOutOfRange("more genesis accounts than the tree has leaves")
    for account in accounts:
        config.profile.validate_public_key(account.public_key)
    return L2State._from_accounts(
        config.preset.tree_depth, config.profile, dict(enumerate(accounts)), 0
    )
