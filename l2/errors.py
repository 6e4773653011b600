"""One exception tree for the L2 protocol (DESIGN.md §8.5).

Every rejection raises a specific leaf so that callers -- the sequencer's HTTP API, the
challenger, the one-step verifier -- can say exactly what was wrong.  The state transition
function validates completely before it mutates, so a raised ``InvalidTransaction`` means the
state is byte-identical to what it was (DESIGN.md §3).

Three families:

- ``EncodingError``: bytes or field values that are not a well-formed wire object (records,
  batches, commitments, state snapshots).  Decoders are strict: anything that is not the one
  canonical encoding is refused, so every deriver reaches the same verdict (catalogue D2).
- ``InvalidTransaction``: a well-formed transaction that the STF refuses in the current state
  (bad signature, bad nonce, overspend...).  Inside a posted batch such a transaction is a no-op
  with a trace entry (see ``l2.stf.apply_batch``); outside one, the error propagates.
- Everything else is a caller error: a proof of the wrong shape, a state built for another
  profile, a batch longer than the preset allows.
"""

from __future__ import annotations

__all__ = [
    "AccountExists",
    "AmountBelowMinimum",
    "AmountOverflow",
    "BatchTooLarge",
    "ConfigMismatch",
    "DepositMismatch",
    "DepositOutOfOrder",
    "EncodingError",
    "FieldOutOfRange",
    "InsufficientBalance",
    "InvalidBatchData",
    "InvalidBatchHeader",
    "InvalidCommitmentEncoding",
    "InvalidMove",
    "InvalidOneStepProof",
    "InvalidProof",
    "InvalidPublicKey",
    "InvalidRecord",
    "InvalidSignature",
    "InvalidStateEncoding",
    "InvalidStateUpdate",
    "InvalidTransaction",
    "L2Error",
    "MalformedBatchData",
    "NonCanonicalTransaction",
    "NonceMismatch",
    "NonceOverflow",
    "TrailingBatchData",
    "TreeFull",
    "TruncatedBatch",
    "UnknownAccount",
    "UnknownBatchVersion",
    "UnknownDeposit",
]


class L2Error(Exception):
    """Root of every error the L2 protocol raises."""


# ----------------------------------------------------------------------------- encodings
class EncodingError(L2Error):
    """Bytes or values that are not a canonical encoding of the expected wire object."""


class FieldOutOfRange(EncodingError):
    """A wire-object field does not fit its sized type (u32 index, u64 amount, 33-byte key...).

    Raised when the object is constructed, so nothing out of range ever reaches the STF or an
    encoder."""


class InvalidRecord(EncodingError):
    """A transaction record is not the canonical fixed-size encoding: wrong length, unknown kind,
    non-zero padding, or a field that must be zero for its kind."""


class NonCanonicalTransaction(EncodingError):
    """A transaction object whose record would decode to a *different* transaction: a public key
    or signature shorter than the profile's size (the record zero-pads it).  Refused so that the
    object a sequencer validates and the record a deriver reads can never disagree."""


class InvalidStateEncoding(EncodingError):
    """A state snapshot that ``L2State.decode`` refuses (it accepts only what ``encode`` makes)."""


class InvalidCommitmentEncoding(EncodingError):
    """Bytes that are not a canonical ``BatchCommitment`` serialization."""


class InvalidBatchData(EncodingError):
    """Batch data that cannot be decoded into records (catalogue D2: rejected deterministically)."""


class MalformedBatchData(InvalidBatchData):
    """The blobs are not the canonical packing of some byte string (bad element, bad length
    prefix, non-zero padding, or more blobs than the data needs)."""


class UnknownBatchVersion(InvalidBatchData):
    pass


class InvalidBatchHeader(InvalidBatchData):
    """Reserved header bytes are not zero."""


class TruncatedBatch(InvalidBatchData):
    """Fewer bytes than the header (or the header's transaction count) requires."""


class TrailingBatchData(InvalidBatchData):
    """More bytes than the header's transaction count accounts for."""


class BatchTooLarge(InvalidBatchData):
    """More transactions than the preset allows in one batch (catalogue D3)."""


# ----------------------------------------------------------------------------- transactions
class InvalidTransaction(L2Error):
    """A well-formed transaction that the STF refuses in the current state; nothing changed."""


class UnknownAccount(InvalidTransaction):
    pass


class AccountExists(InvalidTransaction):
    """A deposit names an existing account that belongs to a different public key."""


class TreeFull(InvalidTransaction):
    """A deposit would create an account beyond the tree's ``2**depth`` leaves."""


class NonceMismatch(InvalidTransaction):
    """The nonce is not the account's next nonce ("nonce too low" / "nonce too high")."""


class NonceOverflow(InvalidTransaction):
    """The account's nonce is at the u32 maximum; one more transaction could not be encoded."""


class InsufficientBalance(InvalidTransaction):
    pass


class AmountOverflow(InvalidTransaction):
    """``amount + fee`` or a credited balance would exceed u64."""


class AmountBelowMinimum(InvalidTransaction):
    """A withdrawal smaller than the preset minimum (it could not become an L1 cell)."""


class InvalidSignature(InvalidTransaction):
    """Malformed, high-s, or not by the account's key over this domain's signing message."""


class InvalidPublicKey(InvalidTransaction):
    """Not a valid public key of the profile (wrong size, not on the curve, bad prefix)."""


class DepositOutOfOrder(InvalidTransaction):
    """Deposits are consumed strictly in L1 queue order, each exactly once (catalogue B1)."""


class UnknownDeposit(InvalidTransaction):
    """The record names a deposit-queue index the L1 has not (yet) made available."""


class DepositMismatch(InvalidTransaction):
    """The record's amount or key differs from the L1 deposit it claims to consume."""


# ----------------------------------------------------------------------------- caller errors
class InvalidProof(L2Error):
    """A Merkle proof of the wrong shape (sibling count, sizes, index range)."""


class InvalidStateUpdate(L2Error):
    """A direct state write that would break the state's invariants (a gap in the account
    indices, an index outside the tree, a key of the wrong size); the STF never makes one."""


class ConfigMismatch(L2Error):
    """A state built for another profile or tree depth than the configuration in use."""


class InvalidMove(L2Error):
    """A dispute-game move that the rules refuse (out of turn, wrong phase, malformed claim)."""


class InvalidOneStepProof(L2Error):
    """A one-step proof whose witness does not hold: a KZG opening, a Merkle witness, the
    pre-state preimage, or a missing witness for an account or deposit the step reads."""


class UnprovableBatch(L2Error):
    """A batch no validity proof can exist for (docs/validity.md): a record the STF rejects,
    more records than the circuit has slots, or a rollup not on the validity profile."""
