"""The escape hatch with the sequencer stopped (docs/rollup-on-l1.md "EscapeHatch"): users' funds
never depend on the sequencer staying alive.

A real L1 node (test spec, ``--dev-rpc``; the test mines) and a real sequencer that deploys its
rollup with a 20-block escape timeout, credits Alice's and Bob's deposits, batches a transfer,
and is then STOPPED.  Bob (a user with L2 funds, and an L1 key with funds for a bond):

1. derives the current L2 state from the L1 alone (``RollupL1.scan`` + ``fetch_batch_inputs`` +
   ``l2.derive.derive_state``; done right away, as a follower would, because the test preset
   keeps blobs for 16 blocks only) and checks it against the rollup cell's state root;
2. cannot take over before the escape timeout (``SinceNotMet``), and can after it
   (``RollupL1.escape_hatch``: his lock becomes the proposer's);
3. builds the next batch himself: Carol's deposit made after the sequencer stopped (pending on L1,
   ``derive_l1_deposits(pending=...)``) and his own signed withdrawal, and submits it with the
   bond locked in the batch cell;
4. after the challenge window finalizes every unfinalized batch in order (FinalizeBatch needs
   no proposer: the withdrawals come from the L1 data, derived) and claims the withdrawal cell
   it creates: his balance grows by exactly the amount.

Forced L2 transactions via L1 (a user posting a signed L2 transaction to an L1 inbox the next
proposer must include) do not exist yet: the escape-hatch proposer includes users' signed
transactions directly, so here the proposer is the user who wants out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.hashes import compute_header_hash
from l1.client import L1RpcError
from l1.core.scripts.rollup.layout import WithdrawalEntry
from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.batch import compute_batch_blobs, compute_batch_commitment
from l2.client.bridge import derive_l1_deposits
from l2.config import RollupConfig
from l2.derive import derive_state
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.state import create_genesis_state
from l2.stf import apply_batch, compute_deposit_queue
from l2.tx import Deposit, Transaction, Transfer, Withdraw, encode_record, sign_transaction
from tests.sequencer.procs import L1TestNode, running_l1_node, sequencer_proc
from tests.support.procs import Proc

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 7
CHALLENGE, ESCAPE = 4, 20
BOND = 500 * CKB
PROPOSER = "devnet:7"
ALICE_L1, BOB_L1, CAROL_L1, FEE_PAYER = (DEVNET_KEYS[i] for i in (1, 2, 5, 4))
#: L2 keys: Alice (account 0), Bob (account 1), Carol (account 2, created by the escape batch).
ALICE_L2, BOB_L2, CAROL_L2 = (derive_devnet_key(i) for i in (400, 401, 402))
ALICE_DEPOSIT, BOB_DEPOSIT, CAROL_DEPOSIT = 1_000 * CKB, 400 * CKB, 200 * CKB
TRANSFERRED, WITHDRAWAL = 100 * CKB, 300 * CKB
VERIFY_FAILED = -302


class Node(L1TestNode):
    def committed(self, tx_hash: bytes) -> None:
        self.mine()
        assert self.l1.get_tx_status(tx_hash) == "committed"

    def balance(self, key_index: int) -> int:
        return self.client.get_balance(self.l1.lock_of(DEVNET_KEYS[key_index].private_key))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_l1_node(tmp_path_factory.mktemp("l1-node")) as running:
        yield Node(running.proc, running.client, running.l1)


def start_sequencer(node: Node, data_dir: Path) -> Proc:
    env = {
        "ROLLCOURT_SEQ_L1_URL": node.proc.url,
        "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
        "ROLLCOURT_SEQ_PRESET": "test",
        "ROLLCOURT_SEQ_CHAIN_ID": str(CHAIN_ID),
        "ROLLCOURT_SEQ_CHALLENGE_WINDOW": str(CHALLENGE),
        "ROLLCOURT_SEQ_FORCED_INCLUSION_WINDOW": "50",
        "ROLLCOURT_SEQ_ESCAPE_TIMEOUT": str(ESCAPE),
        "ROLLCOURT_SEQ_BOND": str(BOND),
        "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
        "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
    }
    return sequencer_proc(data_dir, env=env).start()


def get(proc: Proc, path: str) -> Any:
    response = httpx.get(proc.url + path, timeout=10)
    response.raise_for_status()
    return response.json()


def post_tx(proc: Proc, tx: Transaction) -> None:
    response = httpx.post(
        proc.url + "/v1/transactions",
        json={"kind": "record", "record": "0x" + encode_record(tx).hex()},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def balance(proc: Proc, index: int) -> int | None:
    response = httpx.get(f"{proc.url}/v1/accounts/{index}", timeout=10)
    return response.json()["balance"] if response.status_code == 200 else None


def all_landed(proc: Proc) -> bool:
    """Nothing unbatched and every batch committed on L1 (safe or final).  The status is read
    first: a batch is in the store before its transactions leave ``unbatched``, so a batch sealed
    between the two reads is listed (and is not safe yet)."""
    if get(proc, "/v1/status")["unbatched"] != 0:
        return False
    listed = get(proc, "/v1/batches")["batches"]
    return bool(listed) and all(b["status"] in ("safe", "final") for b in listed)


def test_a_user_escapes_a_stopped_sequencer_and_withdraws(node: Node, tmp_path: Path) -> None:
    l1 = node.l1
    # ---------------------------------------------------------------- the sequencer's life
    proc = start_sequencer(node, tmp_path / "seq")
    try:
        proc.wait_healthy()
        rollup_id = bytes.fromhex(get(proc, "/v1/status")["rollup_id"][2:])
        config = RollupConfig(CHAIN_ID, rollup_id, 0, TEST, OPTIMISTIC)
        node.mine()  # the rollup's creation
        l1.find_rollup_cell(rollup_id)
        l1.deposit(ALICE_L1.private_key, rollup_id, ALICE_L2.public_key, ALICE_DEPOSIT)
        node.mine()  # one block each: Alice is account 0, Bob account 1
        l1.deposit(BOB_L1.private_key, rollup_id, BOB_L2.public_key, BOB_DEPOSIT)
        node.mine_until(lambda: balance(proc, 1) == BOB_DEPOSIT, "deposits credited")
        post_tx(
            proc, sign_transaction(Transfer(0, 1, TRANSFERRED, 0, 0), ALICE_L2.private_key, config)
        )
        node.mine_until(lambda: all_landed(proc), "the sequencer's batches landed", 40)
        sequencer_batches = len(get(proc, "/v1/batches")["batches"])
    finally:
        proc.stop()  # the sequencer is gone for good
    assert proc.process is not None and proc.process.poll() is not None
    rollup = l1.find_rollup_cell(rollup_id)
    assert rollup.state.next_batch_number == sequencer_batches
    assert rollup.state.escape_timeout == ESCAPE

    # ---------------------------------------------------------------- L2 state from L1 alone
    scan = l1.scan(rollup_id)
    assert len(scan.batches) == sequencer_batches
    derivation = derive_state(create_genesis_state(config), l1.fetch_batch_inputs(scan), config)
    assert derivation.get_findings() == ()
    state = derivation.get_state()
    assert state.get_root() == rollup.state.state_root
    bob = state.get_account(1)
    assert bob is not None and bob.public_key == BOB_L2.public_key
    assert bob.balance == BOB_DEPOSIT + TRANSFERRED

    # Carol deposits while nobody sequences: it stays pending on L1.
    carol_tx = l1.deposit(CAROL_L1.private_key, rollup_id, CAROL_L2.public_key, CAROL_DEPOSIT)
    node.committed(carol_tx)

    # ---------------------------------------------------------------- the escape hatch
    with pytest.raises(L1RpcError) as early:
        l1.escape_hatch(rollup_id, BOB_L1.private_key)
    assert early.value.code == VERIFY_FAILED and early.value.data == "SinceNotMet", early.value
    node.mine(ESCAPE)
    escape_tx = l1.escape_hatch(rollup_id, BOB_L1.private_key)
    node.committed(escape_tx)
    rollup = l1.find_rollup_cell(rollup_id)
    assert rollup.state.proposer_lock_hash == l1.lock_hash_of(BOB_L1.private_key)

    # ---------------------------------------------------------------- Bob proposes a batch
    pending = l1.list_pending_deposits(rollup_id)
    assert [c.out_point.tx_hash for c in pending] == [carol_tx]
    queue = compute_deposit_queue(list(derive_l1_deposits(l1.scan(rollup_id), pending)))
    next_index = rollup.state.next_deposit_index
    assert list(queue) == list(range(next_index + 1))  # the absorbed ones, then Carol's
    assert queue[next_index].public_key == CAROL_L2.public_key
    txs: list[Transaction] = [
        Deposit(next_index, 2, CAROL_DEPOSIT, CAROL_L2.public_key),
        sign_transaction(
            Withdraw(1, WITHDRAWAL, 0, bob.nonce, BOB_L1.lock_args), BOB_L2.private_key, config
        ),
    ]
    escaped = state.copy()
    result = apply_batch(escaped, txs, config, queue)
    assert result.rejections == ()
    blobs = compute_batch_blobs(txs)
    sidecars = l1.compute_sidecars(blobs)
    commitment = compute_batch_commitment(
        rollup.state.next_batch_number,
        result,
        [s.versioned_hash for s in sidecars],
        compute_header_hash(node.client.get_tip_header()),
        config,
    )
    entries = [
        (WithdrawalEntry(w.from_index, w.nonce, w.amount), w.l1_recipient)
        for w in result.withdrawals
    ]
    batch_tx = l1.submit_batch(
        rollup_id,
        BOB_L1.private_key,
        commitment,
        sidecars,
        escaped.get_accounts_root(),
        escaped.next_account_index,
        pending,
    )
    node.committed(batch_tx)
    after = l1.find_rollup_cell(rollup_id).state
    assert (after.next_batch_number, after.state_root, after.next_deposit_index) == (
        sequencer_batches + 1,
        escaped.get_root(),
        next_index + 1,
    )
    assert l1.list_pending_deposits(rollup_id) == []

    # The batch is bonded, and anyone derives it from L1 alone (Carol is credited).
    [seen] = l1.scan(rollup_id, l1.client.get_tip_block_number() - 1).batches
    assert seen.tx_hash == batch_tx and seen.batch_out_point is not None
    batch_cell = l1.get_live_cell(seen.batch_out_point)
    assert batch_cell is not None and batch_cell.output.capacity >= BOND
    rescan = l1.scan(rollup_id, seen.block_number)
    derived = derive_state(
        state, l1.fetch_batch_inputs(rescan), config, first_batch_number=sequencer_batches
    )
    assert derived.get_findings() == ()
    assert derived.get_state().get_root() == after.state_root
    carol = derived.get_state().get_account(2)
    assert carol is not None and carol.balance == CAROL_DEPOSIT

    # ---------------------------------------------------------------- the withdrawal on L1
    # SubmitBatch creates no withdrawal cell: there is nothing to claim before finalization.
    assert seen.withdrawals == ()
    assert [
        w for w in l1.scan(rollup_id).withdrawals if w.args.batch_number == seen.batch_number
    ] == []
    node.mine(CHALLENGE)
    # Anyone finalizes, in order, each batch with its withdrawals as derived from L1 data.
    withdrawals = [b.result.withdrawals for b in derivation.batches] + [result.withdrawals]
    while True:
        progress = l1.find_rollup_cell(rollup_id).state
        if progress.next_final_batch == progress.next_batch_number:
            break
        number = progress.next_final_batch
        batch_entries = [
            (WithdrawalEntry(w.from_index, w.nonce, w.amount), w.l1_recipient)
            for w in withdrawals[number]
        ]
        node.committed(l1.finalize_batch(rollup_id, FEE_PAYER.private_key, batch_entries))
    assert batch_entries == entries
    [withdrawal] = [
        w for w in l1.scan(rollup_id).withdrawals if w.args.batch_number == seen.batch_number
    ]
    assert withdrawal.args.owner_lock_args == BOB_L1.lock_args
    assert withdrawal.output.capacity == WITHDRAWAL
    before = node.balance(BOB_L1.index)
    claim = l1.claim_withdrawal(BOB_L1.private_key, withdrawal, fee_payer_key=FEE_PAYER.private_key)
    node.committed(claim)
    assert node.balance(BOB_L1.index) - before == WITHDRAWAL
