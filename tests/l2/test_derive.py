"""Derivation from L1 data alone (catalogue T4, D2, L1-L4): it reproduces the sequencer's roots,
reports commitments that lie as fraud findings, and re-derives after an L1 reorg."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from l1.core.blobs import pack_data_into_blobs
from l2.batch import compute_batch_blobs, compute_batch_commitment, encode_batch_records
from l2.derive import BatchInput, FindingKind, derive_state, rederive
from l2.errors import InvalidRecord, InvalidSignature, UnknownDeposit
from l2.state import Account, L2State, create_genesis_state
from l2.stf import apply_batch, compute_deposit_queue
from l2.tx import Deposit, Transaction, encode_record
from tests.l2.kit import CKB, CONFIG, PUBS, l1_deposit, transfer, withdraw

L1_DEPOSITS = tuple(l1_deposit(i, 1 + i, (100 + 10 * i) * CKB) for i in range(3))


def versioned_hash(blob: bytes) -> bytes:
    """A stand-in for the KZG versioned hash (the L1 checks the real one; derivation does not)."""
    return b"\x01" + hashlib.sha256(blob).digest()[1:]


def genesis() -> L2State:
    return create_genesis_state(CONFIG, [Account(PUBS[0], 0, 0)])


def post(
    state: L2State, number: int, items: list[Transaction | bytes], deposits=L1_DEPOSITS
) -> BatchInput:
    """What an honest sequencer posts: apply, pack, commit."""
    result = apply_batch(state, items, CONFIG, compute_deposit_queue(deposits))
    records = [i if isinstance(i, bytes) else encode_record(i) for i in items]
    blobs = pack_data_into_blobs(encode_batch_records(records))
    commitment = compute_batch_commitment(
        number, result, [versioned_hash(b) for b in blobs], bytes([number]) * 32, CONFIG
    )
    return BatchInput(commitment, tuple(blobs), tuple(deposits))


def honest_chain() -> tuple[list[BatchInput], L2State, list[L2State]]:
    """Three batches; returns the inputs, the sequencer's final state and its state per batch."""
    state = genesis()
    states = []
    inputs = [
        post(state, 0, [Deposit(0, 1, 100 * CKB, PUBS[1]), Deposit(1, 2, 110 * CKB, PUBS[2])])
    ]
    states.append(state.copy())
    batch1 = [
        Deposit(2, 3, 120 * CKB, PUBS[3]),
        transfer(state, 1, 2, 5 * CKB, 1_000),
        transfer(state, 2, 1, 1 * CKB, 1_000),
    ]
    inputs.append(post(state, 1, batch1))
    states.append(state.copy())
    batch2 = [withdraw(state, 1, 61 * CKB, 500), transfer(state, 3, 1, 7 * CKB, 0)]
    inputs.append(post(state, 2, batch2))
    states.append(state.copy())
    return inputs, state, states


def test_derivation_reproduces_the_sequencer_state():
    inputs, sequencer, states = honest_chain()
    start = genesis()
    before = start.encode()
    derivation = derive_state(start, inputs, CONFIG)
    assert start.encode() == before  # genesis is not mutated
    assert derivation.get_findings() == ()
    assert all(batch.is_honest for batch in derivation.batches)
    assert derivation.get_state() == sequencer
    assert derivation.get_state().encode() == sequencer.encode()
    assert derivation.get_roots() == tuple(i.commitment.new_root for i in inputs)
    assert derivation.get_roots() == tuple(s.get_root() for s in states)
    assert len(derivation.batches[1].result.roots) == 3
    assert derivation.batches[2].result.withdrawals[0].amount == 61 * CKB


def test_a_false_new_root_is_a_finding_and_does_not_move_the_derived_state():
    inputs, sequencer, _ = honest_chain()
    lie = replace(inputs[1].commitment, new_root=b"\x66" * 32)
    inputs[1] = replace(inputs[1], commitment=lie)
    # the next batch builds on the lie
    inputs[2] = replace(inputs[2], commitment=replace(inputs[2].commitment, prev_root=lie.new_root))
    derivation = derive_state(genesis(), inputs, CONFIG)
    kinds = [(f.batch_index, f.kind) for f in derivation.get_findings()]
    assert kinds == [(1, FindingKind.NEW_ROOT), (2, FindingKind.PREV_ROOT)]
    assert derivation.get_state() == sequencer  # the data decides, never the claim


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"deposit_end": 4}, FindingKind.DEPOSIT_RANGE),
        ({"withdrawals_root": b"\x01" * 32}, FindingKind.WITHDRAWALS_ROOT),
        ({"batch_number": 7}, FindingKind.BATCH_NUMBER),
        ({"prev_root": b"\x02" * 32}, FindingKind.PREV_ROOT),
    ],
)
def test_every_commitment_field_is_checked(change, kind):
    inputs, _, _ = honest_chain()
    inputs[1] = replace(inputs[1], commitment=replace(inputs[1].commitment, **change))
    findings = derive_state(genesis(), inputs, CONFIG).get_findings()
    assert [(f.batch_index, f.kind) for f in findings] == [(1, kind)]


def test_the_header_is_not_read_for_the_state_transition():
    """The commitment's tx_count defines the records; a garbage header changes nothing."""
    inputs, sequencer, _ = honest_chain()
    garbage = bytearray(inputs[1].blobs[0])
    garbage[5] = 9  # the batch version byte (element 0, after the 4-byte length prefix)
    garbage[6:10] = (999).to_bytes(4, "little")  # the header's tx_count
    inputs[1] = replace(inputs[1], blobs=(bytes(garbage),))
    derivation = derive_state(genesis(), inputs, CONFIG)
    assert derivation.get_findings() == ()
    assert derivation.get_state() == sequencer


def test_a_slot_with_a_non_canonical_element_is_a_no_op_record():
    """D2: a record slot whose element has a non-zero first byte reads as a record that fails to
    decode -- a no-op with a trace position, never an error."""
    inputs, _, states = honest_chain()
    garbage = bytearray(inputs[1].blobs[0])
    garbage[32 * 4] = 1  # first byte of record 0's first element
    inputs[1] = replace(inputs[1], blobs=(bytes(garbage),))
    batch1 = derive_state(genesis(), inputs, CONFIG).batches[1]
    assert batch1.result.tx_count == 3
    assert batch1.result.rejections[0].index == 0
    assert batch1.result.rejections[0].error is InvalidRecord
    assert batch1.result.roots[0] == states[0].get_root()
    assert FindingKind.NEW_ROOT in {f.kind for f in batch1.findings}


def test_tx_count_defines_the_records():
    """Claiming more records than were packed reads zero slots: no-ops, not a finding; the
    trace is one position longer."""
    inputs, sequencer, _ = honest_chain()
    inputs[1] = replace(inputs[1], commitment=replace(inputs[1].commitment, tx_count=4))
    derivation = derive_state(genesis(), inputs, CONFIG)
    assert derivation.get_findings() == ()
    result = derivation.batches[1].result
    assert result.tx_count == 4 and result.rejections[0].index == 3
    assert derivation.get_state() == sequencer
    # fewer records: the last one is never applied
    inputs, _, _ = honest_chain()
    inputs[1] = replace(inputs[1], commitment=replace(inputs[1].commitment, tx_count=2))
    findings = derive_state(genesis(), inputs, CONFIG).get_findings()
    assert [(f.batch_index, f.kind) for f in findings][:1] == [(1, FindingKind.NEW_ROOT)]


def test_tx_count_above_the_preset_limit_derives_as_empty():
    inputs, _, states = honest_chain()
    inputs[1] = replace(inputs[1], commitment=replace(inputs[1].commitment, tx_count=65))
    batch1 = derive_state(genesis(), inputs, CONFIG).batches[1]
    assert batch1.findings[0].kind is FindingKind.TX_COUNT
    assert batch1.post_root == states[0].get_root()


def test_deposits_outside_the_claimed_range_are_unknown():
    """A batch may consume only [deposit_start, deposit_end): the L1 knows just those."""
    state = genesis()
    posted = post(state, 0, [Deposit(0, 1, 100 * CKB, PUBS[1]), Deposit(1, 2, 110 * CKB, PUBS[2])])
    narrowed = replace(posted, commitment=replace(posted.commitment, deposit_end=1))
    result = derive_state(genesis(), [narrowed], CONFIG).batches[0].result
    assert [r.error for r in result.rejections] == [UnknownDeposit]
    assert (result.deposit_start, result.deposit_end) == (0, 1)


def test_missing_blob_is_a_finding():
    inputs, _, states = honest_chain()
    inputs[2] = replace(inputs[2], blobs=())
    batch2 = derive_state(genesis(), inputs, CONFIG).batches[2]
    assert [f.kind for f in batch2.findings][:1] == [FindingKind.BLOB_COUNT]
    assert FindingKind.INVALID_DATA not in {f.kind for f in batch2.findings}
    assert batch2.post_root == states[1].get_root()


def test_invalid_transactions_in_a_posted_batch_are_provable_no_ops():
    """A batch with a badly signed transfer and an undecodable record: an honest commitment
    (no-op roots) derives without findings, and the trace shows the no-ops."""
    state = genesis()
    first = post(state, 0, [Deposit(0, 1, 100 * CKB, PUBS[1])])
    forged = replace(transfer(state, 1, 0, 50 * CKB), amount=90 * CKB)
    items = [forged, b"\x09" * 124, transfer(state, 1, 0, CKB)]
    second = post(state, 1, items)
    derivation = derive_state(genesis(), [first, second], CONFIG)
    assert derivation.get_findings() == ()
    result = derivation.batches[1].result
    assert [r.error for r in result.rejections][:1] == [InvalidSignature]
    assert [r.index for r in result.rejections] == [0, 1]
    assert result.roots[0] == result.roots[1] == result.pre_root != result.roots[2]
    # a sequencer that claims the forged transfer took effect is caught
    cheater = genesis()
    apply_batch(
        cheater, [Deposit(0, 1, 100 * CKB, PUBS[1])], CONFIG, compute_deposit_queue(L1_DEPOSITS)
    )
    cheater.apply_account(1, Account(PUBS[1], 10 * CKB, 1))
    cheater.apply_account(0, Account(PUBS[0], 90 * CKB, 0))
    lie = replace(second.commitment, new_root=cheater.get_root())
    findings = derive_state(
        genesis(), [first, replace(second, commitment=lie)], CONFIG
    ).get_findings()
    assert [f.kind for f in findings] == [FindingKind.NEW_ROOT]


def test_a_deposit_not_yet_visible_on_l1_is_a_no_op():
    state = genesis()
    posted = post(state, 0, [Deposit(0, 1, 100 * CKB, PUBS[1])], deposits=())
    result = derive_state(genesis(), [posted], CONFIG).batches[0].result
    assert result.rejections[0].error is UnknownDeposit
    assert (result.deposit_start, result.deposit_end) == (0, 0)


# ----------------------------------------------------------------------------- reorgs
def alternative_chain() -> list[BatchInput]:
    """Same batches 0 and 1, a different batch 2 and an extra batch 3 (another L1 branch)."""
    inputs, _, states = honest_chain()
    state = states[1].copy()
    b2 = post(state, 2, [transfer(state, 2, 3, 2 * CKB, 0)])
    b3 = post(state, 3, [transfer(state, 3, 2, 1 * CKB, 0)])
    return [*inputs[:2], b2, b3]


def test_rederive_after_a_reorg_replays_only_the_suffix():
    inputs, _, _ = honest_chain()
    old = derive_state(genesis(), inputs, CONFIG)
    new_inputs = alternative_chain()
    new = rederive(old, new_inputs, CONFIG)
    assert new.recomputed_from == 2
    fresh = derive_state(genesis(), new_inputs, CONFIG)
    assert new.get_state() == fresh.get_state()
    assert new.get_roots() == fresh.get_roots()
    assert new.get_findings() == ()
    assert new.batches[:2] == old.batches[:2]


def test_flip_flop_reorg_returns_to_the_same_state():
    """L2: chain A -> B -> A derives A's state again."""
    inputs, sequencer, _ = honest_chain()
    a = derive_state(genesis(), inputs, CONFIG)
    b = rederive(a, alternative_chain(), CONFIG)
    back = rederive(b, inputs, CONFIG)
    assert back.recomputed_from == 2
    assert back.get_state() == sequencer == a.get_state()
    assert back.get_roots() == a.get_roots()


def test_reorg_that_drops_batches_and_no_op_reorg():
    inputs, _, states = honest_chain()
    full = derive_state(genesis(), inputs, CONFIG)
    shorter = rederive(full, inputs[:1], CONFIG)
    assert shorter.get_state() == states[0] and len(shorter.batches) == 1
    same = rederive(full, inputs, CONFIG)
    assert same.recomputed_from == 3 and same.get_state() == full.get_state()


def test_snapshots_are_isolated_from_callers():
    inputs, sequencer, _ = honest_chain()
    derivation = derive_state(genesis(), inputs, CONFIG)
    derivation.get_state().apply_account(1, Account(PUBS[1], 0, 0))
    assert derivation.get_state() == sequencer


def test_prune_bounds_how_deep_a_reorg_can_be_replayed():
    inputs, _, _ = honest_chain()
    pruned = derive_state(genesis(), inputs, CONFIG).prune(2)
    assert len(pruned.snapshots) == 2 and pruned.base == 2
    assert rederive(pruned, alternative_chain(), CONFIG).recomputed_from == 2
    deeper = [inputs[0], replace(inputs[1], deposits=())]
    with pytest.raises(ValueError, match="before the oldest snapshot"):
        rederive(pruned, deeper, CONFIG)


def test_blob_packing_of_sequencer_batches_matches_compute_batch_blobs():
    state = genesis()
    txs = [Deposit(0, 1, 100 * CKB, PUBS[1])]
    posted = post(state, 0, txs)
    assert list(posted.blobs) == compute_batch_blobs(txs)


def test_sparse_snapshots_replay_from_the_nearest_checkpoint():
    inputs, sequencer, _ = honest_chain()
    sparse = derive_state(genesis(), inputs, CONFIG, snapshot_every=2)
    assert [position for position, _ in sparse.snapshots] == [0, 2, 3]
    new_inputs = alternative_chain()
    new = rederive(sparse, new_inputs, CONFIG)
    assert new.recomputed_from == 2
    assert [position for position, _ in new.snapshots] == [0, 2, 4]
    assert new.get_state() == derive_state(genesis(), new_inputs, CONFIG).get_state()
    # forking at 1 restarts from the checkpoint at 0
    changed = [inputs[0], replace(inputs[1], deposits=()), *inputs[2:]]
    again = rederive(sparse, changed, CONFIG)
    assert again.recomputed_from == 0
    assert again.get_roots() == derive_state(genesis(), changed, CONFIG).get_roots()
    # extending the list keeps the old tip only if it is a checkpoint
    extended = rederive(
        derive_state(genesis(), inputs[:1], CONFIG, snapshot_every=2), inputs, CONFIG
    )
    assert [position for position, _ in extended.snapshots] == [0, 2, 3]
    assert extended.get_state() == sequencer
