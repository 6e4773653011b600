"""Genesis from a chain spec (``ckb:spec``; RFC 0024 "CKB Genesis Script List").

The genesis cellbase deploys the system scripts as code cells, each with a Type ID type script
whose args derive from the cellbase input and the output index exactly as CKB's genesis does, so
``secp256k1_blake160_sighash_all`` at output 1 has CKB mainnet's very type hash
(0x9bd7e06f…cce8) and wallets built for CKB's default lock work unchanged. Issued cells follow,
then the optimistic rollup bridge's code cells (``l1.core.scripts.rollup``; docs/rollup-on-l1.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from l1.ckb.hashes import (
    compute_header_hash,
    compute_script_hash,
    compute_transactions_root,
    compute_tx_hash,
)
from l1.ckb.json import JsonFormatError, quantity_from_json, script_from_json
from l1.ckb.types import (
    HASH_TYPE_DATA,
    HASH_TYPE_TYPE,
    NULL_OUT_POINT,
    ZERO_HASH,
    Block,
    CellbaseWitness,
    CellDep,
    CellInput,
    CellOutput,
    Header,
    OutPoint,
    RawHeader,
    RawTransaction,
    Script,
    Transaction,
)
from l1.core.capacity import compute_occupied_capacity
from l1.core.dao import AR_BASE, DaoData
from l1.core.epoch import compute_genesis_epoch_ext
from l1.core.preset import Preset, get_preset
from l1.core.scripts.always_success import ALWAYS_SUCCESS_CODE
from l1.core.scripts.rollup import ROLLUP_SCRIPT_CODES
from l1.core.scripts.secp256k1 import SECP256K1_CODE
from l1.core.scripts.type_id import compute_type_id_args, type_id_script

__all__ = [
    "UNSPENDABLE_LOCK",
    "ChainSpec",
    "Genesis",
    "IssuedCell",
    "SystemScript",
    "build_genesis",
    "chain_spec_from_json",
]

#: Lock of system cells: code hash zero matches no verifier, so they can never be spent.
UNSPENDABLE_LOCK = Script(ZERO_HASH, HASH_TYPE_DATA, b"")


@dataclass(frozen=True, slots=True)
class IssuedCell:
    capacity: int
    lock: Script


@dataclass(frozen=True, slots=True)
class ChainSpec:
    name: str
    preset: Preset
    timestamp_ms: int
    message: bytes
    issued_cells: tuple[IssuedCell, ...]


@dataclass(frozen=True, slots=True)
class SystemScript:
    """A deployed system script: how to reference it (code_hash, hash_type) and its cell dep."""

    name: str
    code_hash: bytes
    hash_type: int
    cell_dep: CellDep

    def script(self, args: bytes) -> Script:
        return Script(self.code_hash, self.hash_type, args)


@dataclass(frozen=True, slots=True)
class Genesis:
    block: Block
    hash: bytes
    system_scripts: dict[str, SystemScript]


def chain_spec_from_json(obj: Any) -> ChainSpec:
    """Parse a chain spec file (see ``l1/specs/devnet.json``)."""
    if not isinstance(obj, dict):
        raise JsonFormatError("chain spec: expected an object")
    try:
        preset = get_preset(obj["preset"])
        genesis = obj["genesis"]
        cells = tuple(
            IssuedCell(
                quantity_from_json(cell["capacity"], f"genesis.issued_cells[{i}].capacity"),
                script_from_json(cell["lock"], f"genesis.issued_cells[{i}].lock"),
            )
            for i, cell in enumerate(genesis["issued_cells"])
        )
        return ChainSpec(
            name=str(obj["name"]),
            preset=preset,
            timestamp_ms=int(genesis["timestamp"]),
            message=str(genesis.get("message", "")).encode(),
            issued_cells=cells,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise JsonFormatError(f"chain spec: {exc}") from None


#: Genesis cellbase output index of each system code cell. Index 1 is CKB's for the default
#: lock; index 2 is held for NervosDAO (CKB's index, so its type hash can match CKB's later).
SECP256K1_INDEX = 1
NERVOS_DAO_RESERVED_INDEX = 2
ALWAYS_SUCCESS_INDEX = 3


def _system_code(preset: Preset) -> list[tuple[str, bytes | None]]:
    """(name, code) by output index from 1; ``None`` marks a reserved, typeless cell."""
    codes: list[tuple[str, bytes | None]] = [
        ("secp256k1_blake160_sighash_all", SECP256K1_CODE),
        ("nervos_dao (reserved)", None),
    ]
    if preset.allow_always_success:
        codes.append(("always_success", ALWAYS_SUCCESS_CODE))
    return codes


def build_genesis(spec: ChainSpec) -> Genesis:
    preset = spec.preset
    cellbase_input = CellInput(NULL_OUT_POINT, since=0)
    outputs: list[CellOutput] = []
    data: list[bytes] = []

    def add(
        lock: Script, type_: Script | None, cell_data: bytes, capacity: int | None = None
    ) -> None:
        output = CellOutput(0, lock, type_)
        occupied = compute_occupied_capacity(output, cell_data)
        outputs.append(CellOutput(capacity if capacity is not None else occupied, lock, type_))
        data.append(cell_data)

    add(UNSPENDABLE_LOCK, None, spec.message)  # output 0: the genesis message
    code_indices: dict[str, int] = {}
    for name, code in _system_code(preset):
        index = len(outputs)
        if code is None:
            add(UNSPENDABLE_LOCK, None, name.encode())
            continue
        args = compute_type_id_args(cellbase_input.serialize(), index)
        add(UNSPENDABLE_LOCK, type_id_script(args), code)
        code_indices[name] = index
    for cell in spec.issued_cells:
        add(cell.lock, None, b"", cell.capacity)
    # The rollup bridge's code cells come after every earlier output, so the indices (and Type
    # ID hashes) of the system scripts and issued cells above never moved when they were added.
    for name, code in ROLLUP_SCRIPT_CODES:
        index = len(outputs)
        add(
            UNSPENDABLE_LOCK,
            type_id_script(compute_type_id_args(cellbase_input.serialize(), index)),
            code,
        )
        code_indices[name] = index

    cellbase = Transaction(
        RawTransaction(inputs=(cellbase_input,), outputs=tuple(outputs), outputs_data=tuple(data)),
        (CellbaseWitness(UNSPENDABLE_LOCK, spec.message).serialize(),),
    )
    epoch = compute_genesis_epoch_ext(preset)
    total = sum(o.capacity for o in outputs)
    occupied = sum(compute_occupied_capacity(o, d) for o, d in zip(outputs, data, strict=True))
    dao = DaoData(total + epoch.block_reward(0), AR_BASE, 0, occupied)
    body = Block(Header(RawHeader(0, 0, 0, 0, 0, ZERO_HASH, ZERO_HASH)), (cellbase,))
    header = Header(
        RawHeader(
            version=0,
            compact_target=epoch.compact_target,
            timestamp=spec.timestamp_ms,
            number=0,
            epoch=epoch.epoch_of_block(0).full_value(),
            parent_hash=ZERO_HASH,
            transactions_root=compute_transactions_root(body),
            dao=dao.pack(),
        ),
        0,
    )
    block = Block(header, (cellbase,))
    tx_hash = compute_tx_hash(cellbase)
    system_scripts = {}
    for name, index in code_indices.items():
        type_script = outputs[index].type
        if type_script is None:  # unreachable: every code cell has a Type ID
            raise ValueError(f"system script {name} has no type id")
        system_scripts[name] = SystemScript(
            name,
            compute_script_hash(type_script),
            HASH_TYPE_TYPE,
            CellDep(OutPoint(tx_hash, index)),
        )
    return Genesis(block, compute_header_hash(header), system_scripts)
