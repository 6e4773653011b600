"""One exception tree for the L1 ledger and consensus core.

Every rejection raises a specific leaf, so callers (RPC, P2P, tests) can report exactly what was
wrong; validation always happens before any mutation, so a raised error means nothing changed.
Names follow CKB's own error enums where CKB has one (``TransactionError``, ``BlockErrorKind``,
``HeaderErrorKind`` in ``ckb:verification``).
"""

from __future__ import annotations

__all__ = [
    "AlreadyCommitted",
    "BlobError",
    "BlobLimitExceeded",
    "BlobVersionedHashMismatch",
    "BlockCyclesExceeded",
    "BlockError",
    "BlockTimeTooNew",
    "BlockTooLarge",
    "CapacityOverflow",
    "CellbaseError",
    "DaoMismatch",
    "DeadCell",
    "DoubleSpend",
    "DuplicateCellDeps",
    "DuplicateHeaderDeps",
    "DuplicateTransaction",
    "EmptyInputs",
    "EmptyOutputs",
    "HeaderDepNotFound",
    "HeaderError",
    "ImmatureCell",
    "InsufficientCellCapacity",
    "InvalidBlobProof",
    "InvalidBlockVersion",
    "InvalidCellProof",
    "InvalidCompactTarget",
    "InvalidDepGroup",
    "InvalidEpoch",
    "InvalidExtraHash",
    "InvalidHashType",
    "InvalidNumber",
    "InvalidOutputsData",
    "InvalidParent",
    "InvalidPow",
    "InvalidProposalsHash",
    "InvalidReward",
    "InvalidSince",
    "InvalidTimestamp",
    "InvalidTransactionsRoot",
    "InvalidTxVersion",
    "L1Error",
    "MalformedBlob",
    "MissingBlobData",
    "OutputsExceedInputs",
    "PoolConflict",
    "PoolDuplicate",
    "PoolError",
    "PoolFeeRateTooLow",
    "PoolFull",
    "ScriptError",
    "ScriptNotFound",
    "ScriptValidationFailure",
    "SinceNotMet",
    "TransactionCyclesExceeded",
    "TransactionError",
    "TransactionTooLarge",
    "UnknownCell",
    "UnsupportedFeature",
]


class L1Error(Exception):
    """Root of every L1 validation error."""


# ----------------------------------------------------------------------------- transactions
class TransactionError(L1Error):
    """A transaction violates a ledger rule (``ckb:verification/src/transaction_verifier.rs``)."""


class InvalidTxVersion(TransactionError):
    pass


class TransactionTooLarge(TransactionError):
    pass


class EmptyInputs(TransactionError):
    pass


class EmptyOutputs(TransactionError):
    pass


class DuplicateCellDeps(TransactionError):
    pass


class DuplicateHeaderDeps(TransactionError):
    pass


class InvalidOutputsData(TransactionError):
    """``len(outputs) != len(outputs_data)`` (``OutputsDataVerifier``)."""


class InvalidHashType(TransactionError):
    pass


class UnknownCell(TransactionError):
    """An input or cell dep that never existed on this chain."""


class DeadCell(TransactionError):
    """An input or cell dep that existed but has been spent."""


class DoubleSpend(TransactionError):
    """Two inputs of one block (or one transaction) spend the same cell (RFC 0020 Def. 4)."""


class HeaderDepNotFound(TransactionError):
    pass


class InvalidDepGroup(TransactionError):
    """A dep-group cell whose data is not a molecule ``OutPointVec`` (RFC 0022 "Dep Group")."""


class ImmatureCell(TransactionError):
    """A cellbase output used before ``cellbase_maturity`` epochs (``MaturityVerifier``)."""


class InvalidSince(TransactionError):
    """A malformed since value (reserved bits, metric 0b11, bad epoch fraction)."""


class SinceNotMet(TransactionError):
    """A well-formed since whose time lock has not yet passed (``SinceVerifier``)."""


class InsufficientCellCapacity(TransactionError):
    """An output holds less capacity than the bytes it occupies (RFC 0022; state rent)."""


class OutputsExceedInputs(TransactionError):
    """``sum(outputs) > sum(inputs)`` for a non-cellbase transaction (``CapacityVerifier``)."""


class CapacityOverflow(TransactionError):
    pass


class TransactionCyclesExceeded(TransactionError):
    pass


class ScriptError(TransactionError):
    """A script group failed (``ckb:script`` ``ScriptError``); the message names the group."""


class ScriptNotFound(ScriptError):
    """No cell dep provides the code, or no native verifier is registered for that code."""


class ScriptValidationFailure(ScriptError):
    """The verifier plug-in ran and rejected the transaction."""


# ----------------------------------------------------------------------------- headers / blocks
class HeaderError(L1Error):
    """A header violates a consensus rule (``HeaderErrorKind``)."""


class InvalidPow(HeaderError):
    pass


class InvalidParent(HeaderError):
    pass


class InvalidNumber(HeaderError):
    pass


class InvalidEpoch(HeaderError):
    pass


class InvalidCompactTarget(HeaderError):
    pass


class InvalidTimestamp(HeaderError):
    pass


class BlockTimeTooNew(InvalidTimestamp):
    """Timestamp beyond now + the allowed drift: not a consensus rule (RFC 0027), so the block
    is refused for now but not remembered as invalid; it may be fine once the clock catches up."""


class InvalidBlockVersion(HeaderError):
    pass


class BlockError(L1Error):
    """A block body violates a consensus rule (``BlockErrorKind``)."""


class UnsupportedFeature(BlockError):
    """Valid in CKB but not offered by this L1: uncles and the two-step proposal zone."""


class InvalidTransactionsRoot(BlockError):
    pass


class InvalidProposalsHash(BlockError):
    pass


class InvalidExtraHash(BlockError):
    pass


class CellbaseError(BlockError):
    """Cellbase placement, shape or witness is wrong (``CellbaseVerifier``)."""


class InvalidReward(BlockError):
    """The cellbase pays a different amount or lock than the reward rules say."""


class DuplicateTransaction(BlockError):
    pass


class BlockTooLarge(BlockError):
    pass


class BlockCyclesExceeded(BlockError):
    pass


class DaoMismatch(BlockError):
    """The header's dao field is not the one computed from the parent and this block."""


# ----------------------------------------------------------------------------- pool policy
class PoolError(L1Error):
    """The transaction pool's policy refuses a transaction (not a consensus rule)."""


class PoolDuplicate(PoolError):
    pass


class PoolConflict(PoolError):
    """An input is already spent by a pool transaction and the fee does not pay to replace it."""


class PoolFeeRateTooLow(PoolError):
    pass


class PoolFull(PoolError):
    pass


class AlreadyCommitted(PoolError):
    pass


# ----------------------------------------------------------------------------- data availability
class BlobError(L1Error):
    """Blob data that is missing, malformed, or does not match its commitment (EIP-4844)."""


class BlobLimitExceeded(BlobError):
    pass


class MalformedBlob(BlobError):
    """Wrong size, or a field element not below the BLS12-381 modulus."""


class BlobVersionedHashMismatch(BlobError):
    """The sidecar's commitment does not hash to the versioned hash the transaction commits to."""


class InvalidBlobProof(BlobError):
    """The KZG proof does not open the commitment to the blob."""


class MissingBlobData(BlobError):
    """A transaction commits to a blob whose sidecar was not supplied."""


class InvalidCellProof(BlobError):
    """An EIP-7594 cell or its proof does not match the commitment."""
