"""The sequencer when the L1 reverts its batch (docs/disputes.md §3 RevertBatches), on a real L1
node (test spec, ``--dev-rpc``; the test mines).

The sequencer posts batch 0 (Alice's and Bob's deposits and a transfer) and does not defend it (the defender
is a later issue). A dishonest challenger (``DisputePlayer`` with the ``dishonest`` test fault)
challenges the honest batch and, the proposer being silent, wins on time: RevertBatches(0) gives
both deposits back to the pending list. The sequencer sees batch 0 ``reverted``, rolls back to
genesis (the L1's state root), re-executes its acknowledged transactions -- the reverted deposit
first, at their old queue indices -- re-seals and re-posts batch 0, then finalizes it once its window
passed: the transfer ends ``final`` with the same result, nothing lost or doubled. A follower
deriving from L1 alone rolls back too: the reverted batches are listed as such, the re-posted
ones are derived and final, and no fraud finding remains."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.core.scripts.rollup.layout import RevertBatches
from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.client.player import DisputePlayer
from l2.config import RollupConfig
from l2.dispute import Side
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.state import create_genesis_state
from l2.tx import Transaction, Transfer, encode_record, sign_transaction
from tests.sequencer.procs import L1TestNode, running_l1_node, sequencer_proc
from tests.sequencer.test_follower_e2e import follower_proc
from tests.support.procs import Proc, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 7
#: Long enough for the challenger to challenge before the sequencer finalizes the batch.
CHALLENGE, GAME_CLOCK = 8, 3
PROPOSER = "devnet:7"
ALICE_L1, BOB_L1, LIAR = DEVNET_KEYS[1], DEVNET_KEYS[2], DEVNET_KEYS[6]
ALICE_L2, BOB_L2 = derive_devnet_key(500), derive_devnet_key(501)
ALICE_DEPOSIT, BOB_DEPOSIT, TRANSFERRED = 1_000 * CKB, 400 * CKB, 100 * CKB


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[L1TestNode]:
    with running_l1_node(tmp_path_factory.mktemp("l1-node")) as running:
        yield running


def get(proc: Proc, path: str) -> Any:
    response = httpx.get(proc.url + path, timeout=10)
    response.raise_for_status()
    return response.json()


def post_tx(proc: Proc, tx: Transaction) -> str:
    response = httpx.post(
        proc.url + "/v1/transactions",
        json={"kind": "record", "record": "0x" + encode_record(tx).hex()},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    tx_hash: str = response.json()["hash"]
    return tx_hash


def test_a_reverted_batch_is_re_executed_re_posted_and_finalized(
    node: L1TestNode, tmp_path: Path
) -> None:
    env = {
        "ROLLCOURT_SEQ_L1_URL": node.proc.url,
        "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
        "ROLLCOURT_SEQ_PRESET": "test",
        "ROLLCOURT_SEQ_CHAIN_ID": str(CHAIN_ID),
        "ROLLCOURT_SEQ_CHALLENGE_WINDOW": str(CHALLENGE),
        "ROLLCOURT_SEQ_GAME_CLOCK": str(GAME_CLOCK),
        "ROLLCOURT_SEQ_FORCED_INCLUSION_WINDOW": "50",
        "ROLLCOURT_SEQ_ESCAPE_TIMEOUT": "500",
        "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
        "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
    }
    l1 = node.l1
    proc = sequencer_proc(tmp_path / "seq", env=env).start()
    follower: Proc | None = None
    try:
        proc.wait_healthy()
        rollup_id = bytes.fromhex(get(proc, "/v1/status")["rollup_id"][2:])
        config = RollupConfig(CHAIN_ID, rollup_id, 0, TEST, OPTIMISTIC)
        node.mine()  # the rollup's creation
        assert l1.find_rollup_cell(rollup_id).state.game_clock == GAME_CLOCK
        follower = follower_proc(tmp_path / "follower", node.proc.url, rollup_id).start()
        follower.wait_healthy()

        # Batch 0: Alice's and Bob's deposits (accounts 0 and 1) and a transfer.
        l1.deposit(ALICE_L1.private_key, rollup_id, ALICE_L2.public_key, ALICE_DEPOSIT)
        node.mine()  # one block each: Alice is account 0
        l1.deposit(BOB_L1.private_key, rollup_id, BOB_L2.public_key, BOB_DEPOSIT)
        node.mine_until(
            lambda: get(proc, "/v1/status")["deposits_credited"] == 2, "deposits credited"
        )
        transfer = post_tx(
            proc, sign_transaction(Transfer(0, 1, TRANSFERRED, 0, 0), ALICE_L2.private_key, config)
        )
        node.mine_until(
            lambda: get(proc, f"/v1/transactions/{transfer}")["status"] == "safe", "batch 0 safe"
        )
        # The deposits and the transfer may have been sealed in one batch or two.
        posted = get(proc, "/v1/batches")["batches"]
        assert all(b["status"] == "safe" for b in posted)
        assert (posted[0]["deposit_start"], posted[-1]["deposit_end"]) == (0, 2)
        first_posting = {b["l1_tx_hash"] for b in posted}

        # A dishonest challenger disputes the honest batch; the silent proposer loses on time.
        liar = DisputePlayer(
            l1,
            rollup_id,
            LIAR.private_key,
            config,
            create_genesis_state(config),
            tmp_path / "liar",
            role=Side.CHALLENGER,
            dishonest=frozenset({0}),
        )

        def reverted() -> bool:
            liar.poll_once()
            return bool(l1.scan(rollup_id).reverts)

        node.mine_until(reverted, "the challenger's revert of batch 0", 4 * GAME_CLOCK + 10)
        assert liar.stats.challenges == 1 and liar.stats.timeouts_claimed == 1
        scan = l1.scan(rollup_id)
        [revert] = scan.reverts
        assert isinstance(revert.action, RevertBatches) and revert.action.batch_number == 0
        # Batch 0 and everything on it reverted: both deposits are pending again, at queue
        # indices 0 and 1.
        consumed = tuple(h for hashes in revert.action.deposit_lists for h in hashes)
        assert len(revert.action.deposit_lists) == len(posted)
        assert len(consumed) == 2 and revert.state.pending_forced == consumed
        assert revert.state.next_deposit_index == 0 and revert.state.next_batch_number == 0
        assert scan.valid_batches == () and scan.reverted_batches == scan.batches

        # The sequencer re-executes from the L1's root (the deposits first), re-posts -- the
        # first batch consuming the pending deposits -- and finalizes after the window.
        def final() -> bool:
            batches = get(proc, "/v1/batches")["batches"]
            return bool(batches) and all(
                b["status"] == "final" and b["l1_tx_hash"] not in first_posting for b in batches
            )

        node.mine_until(final, "the batches re-posted and final", 4 * CHALLENGE + 20)
        again = get(proc, "/v1/batches")["batches"]
        assert (again[0]["prev_root"], again[0]["deposit_start"]) == (posted[0]["prev_root"], 0)
        assert again[0]["deposit_end"] == 2  # the pending deposits come first, all of them
        assert again[-1]["new_root"] == posted[-1]["new_root"]  # same content, same result
        assert get(proc, f"/v1/transactions/{transfer}")["status"] == "final"
        assert get(proc, "/v1/accounts/0")["balance"] == ALICE_DEPOSIT - TRANSFERRED
        assert get(proc, "/v1/accounts/1")["balance"] == BOB_DEPOSIT + TRANSFERRED
        assert get(proc, "/v1/status")["deposits_credited"] == 2
        state = l1.find_rollup_cell(rollup_id).state
        assert (state.next_batch_number, state.next_final_batch, state.pending_forced) == (
            len(again),
            len(again),
            (),
        )
        assert "0x" + state.state_root.hex() == posted[-1]["new_root"]
        scan = l1.scan(rollup_id)
        assert ["0x" + b.tx_hash.hex() for b in scan.valid_batches] == [
            b["l1_tx_hash"] for b in again
        ]
        assert all(scan.is_final(b) for b in scan.valid_batches)
        assert get(proc, "/v1/status")["health"] == "ok"
        log = proc.log_path.read_text(errors="replace")
        assert "reverted by the L1" in log

        # The follower, from L1 alone, agrees.
        tip = node.client.get_tip_block_number()

        def followed() -> dict[str, Any] | None:
            status = get(follower, "/v1/status")
            if status["l1"]["processed_block"] < tip:
                return None
            return status  # type: ignore[no-any-return]

        status = wait_until(followed, 60, 0.2, "the follower at the tip")
        derivation = status["derivation"]
        assert [r["number"] for r in derivation["reverted"]] == [b["number"] for b in posted]
        assert {r["l1_tx_hash"] for r in derivation["reverted"]} == first_posting
        assert derivation["batches"] == len(again) and derivation["findings"] == 0
        followed_batches = get(follower, "/v1/batches")["batches"]
        assert [(b["l1_tx_hash"], b["derived_root"], b["status"]) for b in followed_batches] == [
            (b["l1_tx_hash"], b["new_root"], "final") for b in again
        ]
        assert status["heads"]["final"]["batch"] == again[-1]["number"]
    finally:
        if follower is not None:
            follower.stop()
        proc.stop()
