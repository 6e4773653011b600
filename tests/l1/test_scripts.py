"""Scripts as verifier plug-ins: CKB's default lock (secp256k1_blake160_sighash_all) with CKB's
exact signing message, script grouping (RFC 0022 / ``ckb:script/src/types.rs``), Type ID, code
locating through cell deps, the always_success gate and the per-transaction cycle limit."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import coincurve
import pytest

from l1.ckb.hashes import compute_script_hash, compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.types import (
    HASH_TYPE_DATA,
    HASH_TYPE_DATA1,
    HASH_TYPE_TYPE,
    CellDep,
    CellInput,
    CellOutput,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
    WitnessArgs,
)
from l1.core.errors import (
    ScriptNotFound,
    ScriptValidationFailure,
    TransactionCyclesExceeded,
)
from l1.core.genesis import build_genesis
from l1.core.scripts import (
    GroupKind,
    NativeVerifier,
    VerifierFailure,
    build_default_registry,
)
from l1.core.scripts.always_success import ALWAYS_SUCCESS_CODE
from l1.core.scripts.secp256k1 import (
    SECP256K1_CODE,
    SECP256K1_CYCLES,
    SECP256K1_N,
    compute_sighash_all_message,
    sign_sighash_all,
)
from l1.core.scripts.type_id import TYPE_ID_CODE_HASH, compute_type_id_args, type_id_script
from l1.core.transaction import compute_script_groups, resolve_transaction, verify_transaction
from l1.devnet_keys import derive_devnet_key
from tests.l1.chainkit import CKB, DEVNET_KEYS, Chain, load_test_spec, pinned_preset, sign

K0, K1, K2 = DEVNET_KEYS[:3]
CKB_MAINNET_SECP256K1_TYPE_HASH = bytes.fromhex(
    "9bd7e06f3ecf4be0f2fcd2188b23f1b9fcc88e5d4b65a8637b17723bbda3cce8"
)


@pytest.fixture
def chain() -> Chain:
    return Chain()


def witness_args(tx: Transaction, index: int) -> WitnessArgs:
    return WitnessArgs.deserialize(tx.witnesses[index])


def with_witness(tx: Transaction, index: int, witness: bytes) -> Transaction:
    witnesses = list(tx.witnesses)
    while len(witnesses) <= index:
        witnesses.append(b"")
    witnesses[index] = witness
    return Transaction(tx.raw, tuple(witnesses))


def with_signature(tx: Transaction, signature: bytes, index: int = 0) -> Transaction:
    current = witness_args(tx, index)
    return with_witness(tx, index, replace(current, lock=signature).serialize())


def k0_cell(chain: Chain, capacity: int = 1_000 * CKB, key=K0) -> OutPoint:
    return chain.add_cell(CellOutput(capacity, chain.lock_of(key)))


def spend(chain: Chain, inputs, outputs, *, cell_deps=None, witnesses=()) -> Transaction:
    return Transaction(
        RawTransaction(
            cell_deps=tuple(cell_deps) if cell_deps is not None else (chain.secp.cell_dep,),
            inputs=tuple(i if isinstance(i, CellInput) else CellInput(i) for i in inputs),
            outputs=tuple(outputs),
            outputs_data=tuple(b"" for _ in outputs),
        ),
        tuple(witnesses),
    )


# ----------------------------------------------------------------------------- the default lock
def test_secp256k1_lock_has_ckb_mainnet_type_hash(chain):
    secp = chain.secp
    assert secp.code_hash == CKB_MAINNET_SECP256K1_TYPE_HASH
    assert secp.hash_type == HASH_TYPE_TYPE
    assert secp.cell_dep.out_point.index == 1
    code_cell = chain.cells.live[secp.cell_dep.out_point]
    assert code_cell.output.type is not None
    assert compute_script_hash(code_cell.output.type) == CKB_MAINNET_SECP256K1_TYPE_HASH
    assert code_cell.data == SECP256K1_CODE


def test_devnet_key_lock_args_are_blake160_of_the_compressed_key():
    for key in DEVNET_KEYS:
        public = coincurve.PrivateKey(key.private_key).public_key.format(compressed=True)
        assert key.public_key == public
        assert key.lock_args == ckbhash(public)[:20]


def test_sighash_all_round_trip(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    signature = witness_args(tx, 0).lock
    assert signature is not None and len(signature) == 65
    verdict = chain.verify_tx(tx)
    assert verdict.cycles == SECP256K1_CYCLES


def test_signing_message_is_ckbs(chain):
    """Recompute CKB's message by hand (``secp256k1_blake160_sighash_all.c``): tx_hash; then
    len || witness for the group's first witness with a zeroed 65-byte lock, each further
    witness of the group, and every witness past the inputs."""
    a, b = k0_cell(chain), k0_cell(chain)
    tx = spend(
        chain,
        [a, b],
        [CellOutput(1_999 * CKB, chain.lock_of(K1))],
        witnesses=(WitnessArgs(None, b"in", b"out").serialize(), b"\x01\x02", b"extra"),
    )
    tx = sign_sighash_all(tx, [0, 1], K0.private_key)
    first = witness_args(tx, 0)
    assert (first.input_type, first.output_type) == (b"in", b"out")  # kept by the signer
    zeroed = WitnessArgs(bytes(65), b"in", b"out").serialize()
    hasher = hashlib.blake2b(digest_size=32, person=b"ckb-default-hash")
    hasher.update(compute_tx_hash(tx))
    for witness in (zeroed, b"\x01\x02", b"extra"):
        hasher.update(len(witness).to_bytes(8, "little"))
        hasher.update(witness)
    message = hasher.digest()
    assert compute_sighash_all_message(tx, [0, 1]) == message
    recovered = coincurve.PublicKey.from_signature_and_message(first.lock, message, hasher=None)
    assert recovered.format(compressed=True) == K0.public_key
    chain.verify_tx(tx)


def test_signature_bytes_are_not_part_of_the_message(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    message = compute_sighash_all_message(tx, [0])
    assert compute_sighash_all_message(with_signature(tx, bytes(65)), [0]) == message
    assert compute_sighash_all_message(with_signature(tx, b"\xff" * 65), [0]) == message


# ----------------------------------------------------------------------------- tampering
def two_input_signed(chain: Chain) -> Transaction:
    """K0 spends two cells in one lock group; witnesses: the signature, a second group witness
    and one witness beyond the inputs."""
    a, b = k0_cell(chain), k0_cell(chain)
    tx = spend(
        chain,
        [a, b],
        [CellOutput(1_000 * CKB, chain.lock_of(K1)), CellOutput(999 * CKB, chain.lock_of(K0))],
        witnesses=(WitnessArgs(None, b"it").serialize(), b"second", b"beyond"),
    )
    tx = sign_sighash_all(tx, [0, 1], K0.private_key)
    return tx


def bump_capacity(tx: Transaction) -> Transaction:
    out0, out1 = tx.raw.outputs
    outputs = (replace(out0, capacity=out0.capacity + 1), replace(out1, capacity=out1.capacity - 1))
    return Transaction(replace(tx.raw, outputs=outputs), tx.witnesses)


def swap_recipient(tx: Transaction) -> Transaction:
    out0 = tx.raw.outputs[0]
    outputs = (replace(out0, lock=replace(out0.lock, args=K2.lock_args)), *tx.raw.outputs[1:])
    return Transaction(replace(tx.raw, outputs=outputs), tx.witnesses)


def add_output_data(tx: Transaction) -> Transaction:
    return Transaction(replace(tx.raw, outputs_data=(b"\x00", b"")), tx.witnesses)


def add_since(tx: Transaction) -> Transaction:
    first = replace(tx.raw.inputs[0], since=1)
    return Transaction(replace(tx.raw, inputs=(first, *tx.raw.inputs[1:])), tx.witnesses)


def tamper_first_witness_input_type(tx: Transaction) -> Transaction:
    return with_witness(tx, 0, replace(witness_args(tx, 0), input_type=b"IT").serialize())


def tamper_first_witness_output_type(tx: Transaction) -> Transaction:
    return with_witness(tx, 0, replace(witness_args(tx, 0), output_type=b"").serialize())


def tamper_group_witness(tx: Transaction) -> Transaction:
    return with_witness(tx, 1, b"SECOND")


def tamper_witness_beyond_inputs(tx: Transaction) -> Transaction:
    return with_witness(tx, 2, b"BEYOND")


def append_witness_beyond_inputs(tx: Transaction) -> Transaction:
    return with_witness(tx, 3, b"more")


def drop_witness_beyond_inputs(tx: Transaction) -> Transaction:
    return Transaction(tx.raw, tx.witnesses[:2])


@pytest.mark.parametrize(
    "tamper",
    [
        bump_capacity,
        swap_recipient,
        add_output_data,
        add_since,
        tamper_first_witness_input_type,
        tamper_first_witness_output_type,
        tamper_group_witness,
        tamper_witness_beyond_inputs,
        append_witness_beyond_inputs,
        drop_witness_beyond_inputs,
    ],
)
def test_tampering_invalidates_the_signature(chain, tamper):
    tx = two_input_signed(chain)
    chain.verify_tx(tx)
    tampered = tamper(tx)
    assert tampered != tx
    with chain.rejects(
        ScriptValidationFailure,
        "lock script secp256k1_blake160_sighash_all",
        "inputs [0, 1]",
        "not by the key this lock names",
    ):
        chain.verify_tx(tampered)


def test_tampering_with_the_header_deps_invalidates_the_signature(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    tampered = Transaction(replace(tx.raw, header_deps=(chain.genesis.hash,)), tx.witnesses)
    with chain.rejects(ScriptValidationFailure, "not by the key"):
        chain.verify_tx(tampered)


def test_witness_of_another_lock_group_is_not_covered(chain):
    a, b = k0_cell(chain), k0_cell(chain, key=K1)
    tx = spend(chain, [a, b], [CellOutput(1_999 * CKB, chain.lock_of(K2))])
    tx = sign_sighash_all(tx, [0], K0.private_key)
    tx = sign_sighash_all(tx, [1], K1.private_key)
    chain.verify_tx(tx)
    changed = with_witness(tx, 1, replace(witness_args(tx, 1), input_type=b"x").serialize())
    # K0's message does not move ...
    assert compute_sighash_all_message(changed, [0]) == compute_sighash_all_message(tx, [0])
    # ... so only K1's group (input 1) fails.
    with chain.rejects(ScriptValidationFailure, "inputs [1]", "not by the key"):
        chain.verify_tx(changed)


def test_signature_by_another_key_is_rejected(chain):
    tx = spend(chain, [chain.genesis_cell(K0)], [CellOutput(100 * CKB, chain.lock_of(K1))])
    forged = sign(tx, K1)
    with chain.rejects(ScriptValidationFailure, "not by the key this lock names"):
        chain.verify_tx(forged)


# ----------------------------------------------------------------------------- signature encoding
def split(signature: bytes) -> tuple[int, int, int]:
    return (
        int.from_bytes(signature[:32], "big"),
        int.from_bytes(signature[32:64], "big"),
        signature[64],
    )


def join(r: int, s: int, recid: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recid])


def test_high_s_twin_is_rejected(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    r, s, recid = split(witness_args(tx, 0).lock)
    assert s <= SECP256K1_N // 2  # the signer produces low s
    twin = join(r, SECP256K1_N - s, recid ^ 1)
    # The twin is a valid ECDSA signature by the same key over the same message ...
    message = compute_sighash_all_message(tx, [0])
    recovered = coincurve.PublicKey.from_signature_and_message(twin, message, hasher=None)
    assert recovered.format(compressed=True) == K0.public_key
    # ... and the lock refuses it: no malleability.
    with chain.rejects(ScriptValidationFailure, "high s"):
        chain.verify_tx(with_signature(tx, twin))


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda r, s, v: join(0, s, v), "r and s must be in [1, n)"),
        (lambda r, s, v: join(r, 0, v), "r and s must be in [1, n)"),
        (lambda r, s, v: join(SECP256K1_N, s, v), "r and s must be in [1, n)"),
        (lambda r, s, v: join((1 << 256) - 1, s, v), "r and s must be in [1, n)"),
        (lambda r, s, v: join(r, SECP256K1_N, v), "r and s must be in [1, n)"),
        (lambda r, s, v: join(r, s, 4), "recovery id must be 0-3, got 4"),
        (lambda r, s, v: join(r, s, 27), "recovery id must be 0-3, got 27"),
    ],
)
def test_malformed_signatures_are_rejected(chain, make, fragment):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    bad = make(*split(witness_args(tx, 0).lock))
    with chain.rejects(ScriptValidationFailure, fragment):
        chain.verify_tx(with_signature(tx, bad))


def test_wrong_recovery_id_is_rejected(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    r, s, recid = split(witness_args(tx, 0).lock)
    with chain.rejects(ScriptValidationFailure, "not by the key"):
        chain.verify_tx(with_signature(tx, join(r, s, recid ^ 1)))


@pytest.mark.parametrize(
    ("witness", "fragment"),
    [
        (b"", "witness 0 is not a WitnessArgs"),
        (b"\x01\x02\x03", "witness 0 is not a WitnessArgs"),
        (b"\x41" * 65, "witness 0 is not a WitnessArgs"),  # a bare signature, not wrapped
        (WitnessArgs().serialize(), "lock must hold a 65-byte signature"),
        (WitnessArgs(b"\x01" * 64).serialize(), "lock must hold a 65-byte signature"),
        (WitnessArgs(b"\x01" * 66).serialize(), "lock must hold a 65-byte signature"),
    ],
)
def test_malformed_first_witness_is_rejected(chain, witness, fragment):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    with chain.rejects(ScriptValidationFailure, fragment):
        chain.verify_tx(with_witness(tx, 0, witness))


def test_missing_witness_is_rejected(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    with chain.rejects(ScriptValidationFailure, "missing witness for input 0"):
        chain.verify_tx(Transaction(tx.raw, ()))


@pytest.mark.parametrize("args_len", [0, 19, 21, 32])
def test_lock_args_must_be_20_bytes(chain, args_len):
    cell = chain.add_cell(CellOutput(1_000 * CKB, chain.secp.script(b"\x01" * args_len)))
    tx = sign(spend(chain, [cell], [CellOutput(999 * CKB, chain.lock_of(K1))]), K0)
    with chain.rejects(ScriptValidationFailure, f"lock args must be 20 bytes, got {args_len}"):
        chain.verify_tx(tx)


# ----------------------------------------------------------------------------- grouping
@pytest.mark.parametrize("second_witness", [None, b"", b"anything at all"])
def test_inputs_with_the_same_lock_form_one_group_signed_once(chain, second_witness):
    a, b = k0_cell(chain), k0_cell(chain)
    witnesses = () if second_witness is None else (b"", second_witness)
    tx = spend(chain, [a, b], [CellOutput(1_999 * CKB, chain.lock_of(K1))], witnesses=witnesses)
    tx = sign(tx, K0)
    assert len(tx.witnesses) == (1 if second_witness is None else 2)
    rtx = resolve_transaction(tx, chain.cells, chain.headers)
    groups = compute_script_groups(rtx)
    assert [(g.kind, g.input_indices, g.output_indices) for g in groups] == [
        (GroupKind.LOCK, (0, 1), ())
    ]
    assert chain.verify_tx(tx).cycles == SECP256K1_CYCLES  # the group ran once


def test_inputs_of_two_keys_need_both_signatures(chain):
    a, b, c = k0_cell(chain), k0_cell(chain, key=K1), k0_cell(chain)
    tx = spend(chain, [a, b, c], [CellOutput(2_999 * CKB, chain.lock_of(K2))])
    rtx = resolve_transaction(tx, chain.cells, chain.headers)
    assert [g.input_indices for g in compute_script_groups(rtx)] == [(0, 2), (1,)]
    only_k0 = sign_sighash_all(tx, [0, 2], K0.private_key)
    with chain.rejects(ScriptValidationFailure, "inputs [1]", "missing witness for input 1"):
        chain.verify_tx(only_k0)
    k1_signs_for_k0 = sign_sighash_all(tx, [1], K1.private_key)
    with chain.rejects(ScriptValidationFailure, "inputs [0, 2]", "witness 0 is not a WitnessArgs"):
        chain.verify_tx(k1_signs_for_k0)
    both = sign_sighash_all(only_k0, [1], K1.private_key)
    assert chain.verify_tx(both).cycles == 2 * SECP256K1_CYCLES


def recorder(chain: Chain, name: str, *, reject: bool = False):
    """Deploy a native verifier that records the groups it sees (or rejects)."""
    seen: list[tuple[str, tuple[int, ...], tuple[int, ...], bytes]] = []

    def run(context):
        group = context.group
        seen.append((group.kind, group.input_indices, group.output_indices, context.args))
        if reject:
            raise VerifierFailure(f"{name} says no")
        return 7

    code = f"rollcourt-test-verifier:{name}".encode()
    chain.registry.register_code(code, NativeVerifier(name, run))
    code_cell = chain.add_cell(CellOutput(1_000 * CKB, chain.lock_of(K2)), code)
    return Script(ckbhash(code), HASH_TYPE_DATA, b""), CellDep(code_cell), seen


def test_type_groups_run_over_inputs_and_outputs_lock_groups_over_inputs_only(chain):
    type_code, type_dep, seen = recorder(chain, "typer")
    t1, t2 = replace(type_code, args=b"one"), replace(type_code, args=b"two")
    lock_code, lock_dep, lock_seen = recorder(chain, "locker")
    lock = replace(lock_code, args=b"L")
    in0 = chain.add_cell(CellOutput(1_000 * CKB, lock, t1))
    in1 = chain.add_cell(CellOutput(1_000 * CKB, lock, t2))
    unrunnable = Script(ckbhash(b"no such code"), HASH_TYPE_DATA, b"")  # output locks never run
    outputs = [
        CellOutput(500 * CKB, unrunnable, t1),
        CellOutput(500 * CKB, chain.lock_of(K1)),
        CellOutput(500 * CKB, unrunnable, t1),
        CellOutput(400 * CKB, chain.lock_of(K1), replace(type_code, args=b"three")),
    ]
    tx = spend(chain, [in0, in1], outputs, cell_deps=[type_dep, lock_dep])
    verdict = chain.verify_tx(tx)
    assert lock_seen == [(GroupKind.LOCK, (0, 1), (), b"L")]
    assert seen == [
        (GroupKind.TYPE, (0,), (0, 2), b"one"),
        (GroupKind.TYPE, (1,), (), b"two"),
        (GroupKind.TYPE, (), (3,), b"three"),
    ]
    assert verdict.cycles == 4 * 7


def test_type_script_of_an_output_can_reject(chain):
    rejecter, dep, seen = recorder(chain, "rejecter", reject=True)
    tx = spend(
        chain,
        [chain.genesis_cell(K0)],
        [CellOutput(100 * CKB, chain.lock_of(K1), rejecter)],
        cell_deps=[chain.secp.cell_dep, dep],
    )
    tx = sign(tx, K0)
    with chain.rejects(
        ScriptValidationFailure, "type script rejecter", "outputs [0]", "rejecter says no"
    ):
        chain.verify_tx(tx)
    assert seen == [(GroupKind.TYPE, (), (0,), b"")]


# ----------------------------------------------------------------------------- type id
def type_id_tx(chain: Chain, outputs_types, *, extra_inputs=()) -> Transaction:
    funding = chain.add_cell(CellOutput(10_000 * CKB, chain.always_success.script(b"")))
    outputs = [CellOutput(1_000 * CKB, chain.lock_of(K1), t) for t in outputs_types]
    return chain.always_success_tx([funding, *extra_inputs], outputs)


def expected_type_id(tx: Transaction, index: int) -> bytes:
    return compute_type_id_args(tx.raw.inputs[0].serialize(), index)


def retype(tx: Transaction, types) -> Transaction:
    outputs = tuple(replace(o, type=t) for o, t in zip(tx.raw.outputs, types, strict=True))
    return Transaction(replace(tx.raw, outputs=outputs), tx.witnesses)


def test_type_id_creation_with_the_right_args(chain):
    draft = type_id_tx(chain, [None, None])
    # The args depend only on inputs[0] and the output index, not on the outputs themselves.
    tx = retype(draft, [None, type_id_script(expected_type_id(draft, 1))])
    assert expected_type_id(tx, 1) == ckbhash(
        tx.raw.inputs[0].serialize() + (1).to_bytes(8, "little")
    )
    verdict = chain.verify_tx(tx)  # Type ID is built in: no cell dep provides it
    assert not any(dep.data == b"TYPE_ID" for dep in verdict.resolved.cell_deps)


@pytest.mark.parametrize(
    ("make_args", "fragment"),
    [
        (
            lambda tx: expected_type_id(tx, 0),
            "do not match the creating transaction",
        ),  # wrong index
        (lambda tx: ckbhash(b"made up"), "do not match the creating transaction"),
        (lambda tx: expected_type_id(tx, 1)[:31], "must be 32 bytes, got 31"),
        (lambda tx: expected_type_id(tx, 1) + b"\x00", "must be 32 bytes, got 33"),
    ],
)
def test_type_id_creation_with_wrong_args_fails(chain, make_args, fragment):
    draft = type_id_tx(chain, [None, None])
    tx = retype(draft, [None, type_id_script(make_args(draft))])
    with chain.rejects(ScriptValidationFailure, "type script type_id", fragment):
        chain.verify_tx(tx)


def test_two_outputs_with_the_same_type_id_fail(chain):
    draft = type_id_tx(chain, [None, None])
    type_id = type_id_script(expected_type_id(draft, 0))
    tx = retype(draft, [type_id, type_id])
    with chain.rejects(
        ScriptValidationFailure, "at most one input and one output", "outputs [0, 1]"
    ):
        chain.verify_tx(tx)


def test_type_id_cell_can_be_updated_and_destroyed(chain):
    type_id = type_id_script(ckbhash(b"an existing singleton"))
    existing = chain.add_cell(CellOutput(1_000 * CKB, chain.always_success.script(b""), type_id))
    funding = chain.add_cell(CellOutput(1_000 * CKB, chain.always_success.script(b"")))
    update = chain.always_success_tx(
        [funding, existing], [CellOutput(1_900 * CKB, chain.lock_of(K1), type_id)]
    )
    chain.verify_tx(update)
    destroy = chain.always_success_tx(
        [funding, existing], [CellOutput(1_900 * CKB, chain.lock_of(K1))]
    )
    chain.verify_tx(destroy)
    twice = chain.always_success_tx(
        [funding, existing],
        [
            CellOutput(900 * CKB, chain.lock_of(K1), type_id),
            CellOutput(900 * CKB, chain.lock_of(K1), type_id),
        ],
    )
    with chain.rejects(ScriptValidationFailure, "at most one input and one output"):
        chain.verify_tx(twice)


def test_type_id_is_built_in_only_with_hash_type_type(chain):
    as_data = Script(TYPE_ID_CODE_HASH, HASH_TYPE_DATA, bytes(32))
    tx = type_id_tx(chain, [as_data])
    with chain.rejects(ScriptNotFound, "no cell dep provides code", TYPE_ID_CODE_HASH.hex()):
        chain.verify_tx(tx)


# ----------------------------------------------------------------------------- code locating
def test_script_whose_code_is_not_in_cell_deps_is_not_found(chain):
    tx = sign(
        spend(
            chain,
            [chain.genesis_cell(K0)],
            [CellOutput(100 * CKB, chain.lock_of(K1))],
            cell_deps=(),
        ),
        K0,
    )
    with chain.rejects(
        ScriptNotFound, "lock script", "no cell dep provides code", chain.secp.code_hash.hex()
    ):
        chain.verify_tx(tx)


@pytest.mark.parametrize("hash_type", [HASH_TYPE_DATA, HASH_TYPE_DATA1])
def test_code_can_be_referenced_by_data_hash(chain, hash_type):
    lock = Script(ckbhash(SECP256K1_CODE), hash_type, K0.lock_args)
    cell = chain.add_cell(CellOutput(1_000 * CKB, lock))
    tx = sign(spend(chain, [cell], [CellOutput(999 * CKB, chain.lock_of(K1))]), K0)
    assert chain.verify_tx(tx).cycles == SECP256K1_CYCLES


def test_type_hash_matching_two_different_codes_is_ambiguous(chain):
    upgradable = Script(b"\x42" * 32, HASH_TYPE_DATA, b"")
    first = chain.add_cell(CellOutput(1_000 * CKB, chain.lock_of(K2), upgradable), SECP256K1_CODE)
    second = chain.add_cell(
        CellOutput(1_000 * CKB, chain.lock_of(K2), upgradable), ALWAYS_SUCCESS_CODE
    )
    lock = Script(compute_script_hash(upgradable), HASH_TYPE_TYPE, K0.lock_args)
    cell = chain.add_cell(CellOutput(1_000 * CKB, lock))
    tx = sign(
        spend(
            chain, [cell], [CellOutput(999 * CKB, chain.lock_of(K1))], cell_deps=[CellDep(first)]
        ),
        K0,
    )
    chain.verify_tx(tx)  # one match: fine
    ambiguous = sign(
        spend(
            chain,
            [cell],
            [CellOutput(999 * CKB, chain.lock_of(K1))],
            cell_deps=[CellDep(first), CellDep(second)],
        ),
        K0,
    )
    with chain.rejects(ScriptNotFound, "several cell deps match type hash", "different code"):
        chain.verify_tx(ambiguous)
    twin = chain.add_cell(CellOutput(1_000 * CKB, chain.lock_of(K2), upgradable), SECP256K1_CODE)
    same_code = sign(
        spend(
            chain,
            [cell],
            [CellOutput(999 * CKB, chain.lock_of(K1))],
            cell_deps=[CellDep(first), CellDep(twin)],
        ),
        K0,
    )
    chain.verify_tx(same_code)  # RFC 0029: several matches with identical code are allowed


def test_genesis_system_cells_are_unspendable(chain):
    code_cell = chain.secp.cell_dep.out_point
    tx = Transaction(
        RawTransaction(
            cell_deps=(chain.secp.cell_dep,),
            inputs=(CellInput(code_cell),),
            outputs=(CellOutput(100 * CKB, chain.lock_of(K1)),),
            outputs_data=(b"",),
        )
    )
    with chain.rejects(ScriptNotFound, "lock script"):
        chain.verify_tx(tx)


def test_always_success_runs_where_the_preset_allows_it(chain):
    cell = chain.add_cell(CellOutput(1_000 * CKB, chain.always_success.script(b"")))
    tx = chain.always_success_tx([cell], [CellOutput(999 * CKB, chain.lock_of(K1))])
    chain.verify_tx(tx)
    strict = build_default_registry(allow_always_success=False)
    with chain.rejects(
        ScriptNotFound,
        "no native verifier is registered for code cell data",
        ckbhash(ALWAYS_SUCCESS_CODE).hex(),
    ):
        verify_transaction(tx, chain.cells, chain.headers, chain.tx_env(), strict)


def test_presets_without_always_success_do_not_deploy_it():
    spec = load_test_spec(pinned_preset(allow_always_success=False))
    genesis = build_genesis(spec)
    assert "always_success" not in genesis.system_scripts
    assert ALWAYS_SUCCESS_CODE not in genesis.block.transactions[0].raw.outputs_data
    assert genesis.system_scripts["secp256k1_blake160_sighash_all"].code_hash == (
        CKB_MAINNET_SECP256K1_TYPE_HASH
    )


# ----------------------------------------------------------------------------- cycles
def many_groups(chain: Chain, count: int) -> Transaction:
    keys = [derive_devnet_key(100 + i) for i in range(count)]
    cells = [k0_cell(chain, key=key) for key in keys]
    tx = spend(chain, cells, [CellOutput(count * 1_000 * CKB - 1_000, chain.lock_of(K1))])
    for index, key in enumerate(keys):
        tx = sign_sighash_all(tx, [index], key.private_key)
    return tx


def test_too_many_lock_groups_exceed_the_transaction_cycle_limit(chain):
    limit = chain.preset.max_tx_verify_cycles
    count = limit // SECP256K1_CYCLES + 1
    assert count * SECP256K1_CYCLES > limit
    tx = many_groups(chain, count)
    with chain.rejects(TransactionCyclesExceeded, f"limit of {limit} cycles"):
        chain.verify_tx(tx)
    fits = many_groups(chain, count - 1)
    assert chain.verify_tx(fits).cycles == (count - 1) * SECP256K1_CYCLES


def test_cycle_limit_boundary(chain):
    tx = many_groups(chain, 2)
    exact = replace(chain.preset, max_tx_verify_cycles=2 * SECP256K1_CYCLES)
    verify_transaction(
        tx, chain.cells, chain.headers, replace(chain.tx_env(), preset=exact), chain.registry
    )
    short = replace(exact, max_tx_verify_cycles=2 * SECP256K1_CYCLES - 1)
    with chain.rejects(TransactionCyclesExceeded, f"limit of {2 * SECP256K1_CYCLES - 1} cycles"):
        verify_transaction(
            tx, chain.cells, chain.headers, replace(chain.tx_env(), preset=short), chain.registry
        )
