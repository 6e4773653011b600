"""Transaction verification: CKB's ledger rules, in CKB's order (RFC 0022;
``ckb:verification/src/transaction_verifier.rs``).

Non-contextual: version, size, non-empty inputs/outputs, no duplicate deps, outputs_data length,
enabled hash types. Contextual: resolution of inputs, cell deps (dep groups expanded) and header
deps; cellbase maturity; ``since``; capacity (occupied capacity, outputs <= inputs); scripts,
charged cycles against the per-transaction limit. Nothing here mutates anything: the verdict is
returned and the caller applies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import compute_script_hash, compute_tx_hash
from l1.ckb.molecule import MoleculeError, unpack_fixvec
from l1.ckb.since import Since, SinceFormatError, SinceMetric
from l1.ckb.types import (
    DEP_TYPE_CODE,
    DEP_TYPE_DEP_GROUP,
    ENABLED_HASH_TYPES,
    HASH_TYPE_TYPE,
    OUT_POINT_SIZE,
    Header,
    OutPoint,
    Script,
    Transaction,
)
from l1.core.capacity import compute_occupied_capacity
from l1.core.cells import CellMeta, CellProvider, CellStatus, HeaderProvider
from l1.core.errors import (
    CapacityOverflow,
    DeadCell,
    DoubleSpend,
    DuplicateCellDeps,
    DuplicateHeaderDeps,
    EmptyInputs,
    EmptyOutputs,
    HeaderDepNotFound,
    ImmatureCell,
    InsufficientCellCapacity,
    InvalidDepGroup,
    InvalidHashType,
    InvalidOutputsData,
    InvalidSince,
    InvalidTxVersion,
    OutputsExceedInputs,
    ScriptNotFound,
    ScriptValidationFailure,
    SinceNotMet,
    TransactionCyclesExceeded,
    TransactionTooLarge,
    UnknownCell,
)
from l1.core.preset import Preset
from l1.core.scripts import GroupKind, ScriptContext, ScriptGroup, ScriptRegistry, VerifierFailure

__all__ = [
    "ResolvedTransaction",
    "TransactionVerdict",
    "TxEnv",
    "compute_script_groups",
    "compute_tx_serialized_size",
    "resolve_transaction",
    "run_scripts",
    "validate_capacity",
    "validate_maturity",
    "validate_since",
    "validate_transaction_structure",
    "verify_transaction",
]

MAX_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class TxEnv:
    """Where the transaction is being committed: the block that will contain it."""

    preset: Preset
    block_number: int
    epoch: EpochNumberWithFraction
    #: Median timestamp (ms) of the ``median_time_block_count`` blocks before that block.
    median_time_ms: int


@dataclass(frozen=True, slots=True)
class ResolvedTransaction:
    tx: Transaction
    tx_hash: bytes
    inputs: tuple[CellMeta, ...]
    #: Cell deps with dep groups expanded into their members (the group cells come first).
    cell_deps: tuple[CellMeta, ...]
    header_deps: tuple[Header, ...]


@dataclass(frozen=True, slots=True)
class TransactionVerdict:
    tx_hash: bytes
    fee: int
    cycles: int
    size: int
    resolved: ResolvedTransaction


def compute_tx_serialized_size(tx: Transaction) -> int:
    """Bytes the transaction takes in a block: molecule size + 4 (its offset in the block)."""
    return len(tx.serialize()) + 4


def validate_transaction_structure(tx: Transaction, preset: Preset) -> None:
    """``NonContextualTransactionVerifier``: rules that need no chain state."""
    raw = tx.raw
    if raw.version != 0:
        raise InvalidTxVersion(f"transaction version must be 0, got {raw.version}")
    size = compute_tx_serialized_size(tx)
    if size > preset.max_block_bytes:
        raise TransactionTooLarge(
            f"transaction is {size} bytes, more than a block holds ({preset.max_block_bytes})"
        )
    if not raw.inputs:
        raise EmptyInputs("a transaction needs at least one input")
    if not raw.outputs and not tx.is_cellbase:
        raise EmptyOutputs("a transaction needs at least one output")
    if len(set(raw.cell_deps)) != len(raw.cell_deps):
        raise DuplicateCellDeps("the same cell dep is listed twice")
    if len(set(raw.header_deps)) != len(raw.header_deps):
        raise DuplicateHeaderDeps("the same header dep is listed twice")
    if len(raw.outputs) != len(raw.outputs_data):
        raise InvalidOutputsData(
            f"{len(raw.outputs)} outputs but {len(raw.outputs_data)} outputs_data entries"
        )
    for index, output in enumerate(raw.outputs):
        for script in (output.lock, output.type):
            if script is not None and script.hash_type not in ENABLED_HASH_TYPES:
                raise InvalidHashType(
                    f"output {index} uses hash_type {script.hash_type}, not one of data/type/data1/data2"
                )
    if len(raw.blob_versioned_hashes) > preset.max_blobs_per_tx:
        raise TransactionTooLarge(
            f"{len(raw.blob_versioned_hashes)} blobs, more than {preset.max_blobs_per_tx} per transaction"
        )


def _resolve_cell(out_point: OutPoint, cells: CellProvider, what: str) -> CellMeta:
    status, cell = cells.get_cell(out_point)
    if cell is not None:
        return cell
    label = f"{what} {out_point.tx_hash.hex()}:{out_point.index}"
    if status == CellStatus.DEAD:
        raise DeadCell(f"{label} is already spent")
    raise UnknownCell(f"{label} does not exist")


def resolve_transaction(
    tx: Transaction,
    cells: CellProvider,
    headers: HeaderProvider,
    tx_hash: bytes | None = None,
) -> ResolvedTransaction:
    """Resolve inputs (live, spent once), cell deps (dep groups expanded) and header deps."""
    raw = tx.raw
    seen: set[OutPoint] = set()
    inputs = []
    for cell_input in raw.inputs:
        out_point = cell_input.previous_output
        if out_point in seen:
            raise DoubleSpend(f"input {out_point.tx_hash.hex()}:{out_point.index} is spent twice")
        seen.add(out_point)
        inputs.append(_resolve_cell(out_point, cells, "input"))
    deps: list[CellMeta] = []
    for dep in raw.cell_deps:
        dep_cell = _resolve_cell(dep.out_point, cells, "cell dep")
        deps.append(dep_cell)
        if dep.dep_type == DEP_TYPE_DEP_GROUP:
            for member in _expand_dep_group(dep_cell):
                deps.append(_resolve_cell(member, cells, "dep group member"))
        elif dep.dep_type != DEP_TYPE_CODE:
            raise InvalidDepGroup(f"unknown dep_type {dep.dep_type}")
    header_deps = []
    for block_hash in raw.header_deps:
        header = headers.get_header(block_hash)
        if header is None:
            raise HeaderDepNotFound(f"header dep {block_hash.hex()} is not on the main chain")
        header_deps.append(header)
    return ResolvedTransaction(
        tx,
        tx_hash if tx_hash is not None else compute_tx_hash(tx),
        tuple(inputs),
        tuple(deps),
        tuple(header_deps),
    )


def _expand_dep_group(cell: CellMeta) -> list[OutPoint]:
    try:
        items = unpack_fixvec(cell.data, OUT_POINT_SIZE)
    except MoleculeError as exc:
        raise InvalidDepGroup(f"dep group data is not an OutPointVec: {exc}") from None
    return [OutPoint.deserialize(item) for item in items]


def _is_mature(cell: CellMeta, env: TxEnv) -> bool:
    if not cell.is_cellbase or cell.block_number == 0:
        return True
    threshold = cell.epoch.to_rational() + env.preset.cellbase_maturity_epochs
    return env.epoch.to_rational() >= threshold


def validate_maturity(rtx: ResolvedTransaction, env: TxEnv) -> None:
    """Cellbase outputs mature after ``cellbase_maturity`` epochs (``MaturityVerifier``)."""
    for kind, cells in (("input", rtx.inputs), ("cell dep", rtx.cell_deps)):
        for cell in cells:
            if not _is_mature(cell, env):
                raise ImmatureCell(
                    f"{kind} {cell.out_point.tx_hash.hex()}:{cell.out_point.index} is an immature "
                    f"cellbase output (committed in epoch {cell.epoch.number})"
                )


def validate_since(rtx: ResolvedTransaction, env: TxEnv) -> None:
    """RFC 0017 as amended by RFC 0028 (relative timestamps from the commit block's timestamp,
    in seconds) and RFC 0030 (epoch fractions must be well formed)."""
    for index, (cell_input, cell) in enumerate(zip(rtx.tx.raw.inputs, rtx.inputs, strict=True)):
        if cell_input.since == 0:
            continue
        try:
            since = Since.decode(cell_input.since)
        except SinceFormatError as exc:
            raise InvalidSince(f"input {index}: {exc}") from None
        if not _is_since_met(since, cell, env):
            raise SinceNotMet(
                f"input {index}: since {cell_input.since:#x} "
                f"({'relative' if since.relative else 'absolute'} {since.metric.name.lower()}) "
                "is not yet satisfied"
            )


def _is_since_met(since: Since, cell: CellMeta, env: TxEnv) -> bool:
    if since.metric is SinceMetric.BLOCK_NUMBER:
        base = cell.block_number if since.relative else 0
        return env.block_number >= base + since.value
    if since.metric is SinceMetric.EPOCH:
        threshold: Fraction = since.epoch().to_rational()
        if since.relative:
            threshold += cell.epoch.to_rational()
        return env.epoch.to_rational() >= threshold
    base_ms = cell.block_timestamp if since.relative else 0
    return env.median_time_ms >= base_ms + since.value * 1000


def validate_capacity(rtx: ResolvedTransaction) -> int:
    """Each output holds at least its occupied capacity; outputs <= inputs. Returns the fee."""
    raw = rtx.tx.raw
    for index, (output, data) in enumerate(zip(raw.outputs, raw.outputs_data, strict=True)):
        occupied = compute_occupied_capacity(output, data)
        if output.capacity < occupied:
            raise InsufficientCellCapacity(
                f"output {index} holds {output.capacity} shannons but occupies {occupied} "
                f"({occupied // 100_000_000} bytes of state need as many CKB)"
            )
    inputs_capacity = sum(cell.output.capacity for cell in rtx.inputs)
    outputs_capacity = sum(output.capacity for output in raw.outputs)
    if inputs_capacity > MAX_U64 or outputs_capacity > MAX_U64:
        raise CapacityOverflow("capacity sum overflows u64")
    if outputs_capacity > inputs_capacity:
        raise OutputsExceedInputs(
            f"outputs hold {outputs_capacity} shannons, more than the inputs' {inputs_capacity}"
        )
    return inputs_capacity - outputs_capacity


def compute_script_groups(rtx: ResolvedTransaction) -> list[ScriptGroup]:
    """Lock groups over inputs, then type groups over inputs and outputs, in order of first
    appearance; each group runs once (``ckb:script/src/types.rs`` ``TxData``)."""
    locks: dict[bytes, tuple[Script, list[int]]] = {}
    for index, cell in enumerate(rtx.inputs):
        script_hash = compute_script_hash(cell.output.lock)
        locks.setdefault(script_hash, (cell.output.lock, []))[1].append(index)
    types: dict[bytes, tuple[Script, list[int], list[int]]] = {}
    for index, cell in enumerate(rtx.inputs):
        if cell.output.type is not None:
            script_hash = compute_script_hash(cell.output.type)
            types.setdefault(script_hash, (cell.output.type, [], []))[1].append(index)
    for index, output in enumerate(rtx.tx.raw.outputs):
        if output.type is not None:
            script_hash = compute_script_hash(output.type)
            types.setdefault(script_hash, (output.type, [], []))[2].append(index)
    groups = [
        ScriptGroup(GroupKind.LOCK, script, script_hash, tuple(indices), ())
        for script_hash, (script, indices) in locks.items()
    ]
    groups.extend(
        ScriptGroup(GroupKind.TYPE, script, script_hash, tuple(ins), tuple(outs))
        for script_hash, (script, ins, outs) in types.items()
    )
    return groups


def _locate_code(script: Script, deps: Iterable[CellMeta]) -> CellMeta | None:
    """RFC 0022 "Code Locating": match by data hash, or by type-script hash for hash_type type.
    Several type matches are allowed only if they carry identical code (RFC 0029)."""
    if script.hash_type == HASH_TYPE_TYPE:
        matches = [
            dep
            for dep in deps
            if dep.output.type is not None
            and compute_script_hash(dep.output.type) == script.code_hash
        ]
        if len({dep.data_hash for dep in matches}) > 1:
            raise ScriptNotFound(
                f"several cell deps match type hash {script.code_hash.hex()} with different code"
            )
        return matches[0] if matches else None
    for dep in deps:
        if dep.data_hash == script.code_hash:
            return dep
    return None


def run_scripts(
    rtx: ResolvedTransaction,
    registry: ScriptRegistry,
    max_cycles: int,
    blobs: tuple[bytes, ...] = (),
) -> int:
    """Run every script group once; return the cycles charged."""
    total = 0
    for group in compute_script_groups(rtx):
        script = group.script
        verifier = registry.get_builtin(script.code_hash, script.hash_type)
        if verifier is None:
            code_cell = _locate_code(script, rtx.cell_deps)
            if code_cell is None:
                raise ScriptNotFound(
                    f"{group.kind} script {group.script_hash.hex()}: no cell dep provides code "
                    f"{script.code_hash.hex()}"
                )
            verifier = registry.get_by_code_data_hash(code_cell.data_hash)
            if verifier is None:
                raise ScriptNotFound(
                    f"{group.kind} script {group.script_hash.hex()}: no native verifier is "
                    f"registered for code cell data {code_cell.data_hash.hex()}"
                )
        context = ScriptContext(
            rtx.tx,
            rtx.tx_hash,
            rtx.inputs,
            rtx.cell_deps,
            rtx.header_deps,
            group,
            blobs,
            registry.kzg_settings,
        )
        try:
            total += verifier(context)
        except VerifierFailure as exc:
            raise ScriptValidationFailure(
                f"{group.kind} script {verifier.name} (group {group.script_hash.hex()[:16]}…, "
                f"inputs {list(group.input_indices)}, outputs {list(group.output_indices)}) "
                f"rejected the transaction: {exc}"
            ) from None
        if total > max_cycles:
            raise TransactionCyclesExceeded(
                f"scripts used more than the transaction limit of {max_cycles} cycles"
            )
    return total


def verify_transaction(
    tx: Transaction,
    cells: CellProvider,
    headers: HeaderProvider,
    env: TxEnv,
    registry: ScriptRegistry,
    blobs: tuple[bytes, ...] = (),
) -> TransactionVerdict:
    """Every rule for a non-cellbase transaction; raises the first violated rule's error."""
    validate_transaction_structure(tx, env.preset)
    rtx = resolve_transaction(tx, cells, headers)
    validate_maturity(rtx, env)
    validate_since(rtx, env)
    fee = validate_capacity(rtx)
    cycles = run_scripts(rtx, registry, env.preset.max_tx_verify_cycles, blobs)
    return TransactionVerdict(rtx.tx_hash, fee, cycles, compute_tx_serialized_size(tx), rtx)
