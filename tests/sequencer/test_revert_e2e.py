"""Disputes against a real sequencer on a real L1 node (test spec, ``--dev-rpc``; the test mines),
with every role a process or a player deriving from L1 alone (docs/disputes.md).

1. **A dishonest sequencer loses.** Run with the test-only fault ``wrong-root inflate-balance``,
   the sequencer credits deposits twice and posts that root; it defends it with its own (wrong)
   trace. The challenger (``python -m challenger``) derives the batch from L1, challenges, bisects
   to the first deposit record and wins with the one-step proof: RevertBatches(0) gives the
   deposits back to the pending list and the proposer's bond to the challenger. The sequencer
   sees batch 0 ``reverted``, disarms the fault, re-executes its acknowledged transactions from
   the L1's root -- the reverted deposits first, at their old queue indices -- re-posts and
   finalizes: balances are the honest ones, nothing lost or doubled; a follower deriving from L1
   alone lists the reverted batches and agrees with the re-posted ones.
2. **A dishonest challenger loses.** Against an honest sequencer, a challenger with the test-only
   ``dishonest`` fault disputes batch 0; the sequencer's defender bisects and wins the one step:
   the batch stands (and finalizes once no game is open), the challenger's bond goes to the
   proposer less the burn."""

from __future__ import annotations

import sys
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
from l2.tx import Transaction, Transfer, Withdraw, encode_record, sign_transaction
from tests.sequencer.procs import L1TestNode, running_l1_node, sequencer_proc
from tests.sequencer.test_follower_e2e import follower_proc
from tests.support.procs import Proc, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 7
#: Long enough for the challenger, started once the wrong batches are on L1, to challenge before
#: the sequencer finalizes them (a challenge that loses a race in the pool is sent again); each
#: side makes at most two moves on these small batches, a block each.
CHALLENGE, GAME_CLOCK = 16, 8
CHALLENGER_KEY = "devnet:3"
PROPOSER = "devnet:7"
ALICE_L1, BOB_L1, LIAR = DEVNET_KEYS[1], DEVNET_KEYS[2], DEVNET_KEYS[6]
ALICE_L2, BOB_L2 = derive_devnet_key(500), derive_devnet_key(501)
ALICE_DEPOSIT, BOB_DEPOSIT, TRANSFERRED = 1_000 * CKB, 400 * CKB, 100 * CKB
WITHDRAWN = 150 * CKB


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


def _sequencer(node: L1TestNode, data_dir: Path, fault: str | None = None) -> Proc:
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
    extra = ("--fault", fault) if fault is not None else ()
    return sequencer_proc(data_dir, env=env, extra=extra).start()


def _challenger(node: L1TestNode, data_dir: Path, rollup_id: bytes) -> Proc:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "challenger",
        "--l1",
        node.proc.url,
        "--key",
        CHALLENGER_KEY,
        "--rollup-id",
        rollup_id.hex(),
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--poll-interval",
        "0.2",
        "--log-level",
        "info",
    ]
    return Proc(args, data_dir.parent / "challenger.log", f"http://127.0.0.1:{port}").start()


def _deposits_and_transfer(
    node: L1TestNode, proc: Proc, rollup_id: bytes
) -> tuple[str, RollupConfig]:
    """Alice's and Bob's deposits (accounts 0 and 1) and Alice's transfer to Bob, posted."""
    l1 = node.l1
    config = RollupConfig(CHAIN_ID, rollup_id, 0, TEST, OPTIMISTIC)
    l1.deposit(ALICE_L1.private_key, rollup_id, ALICE_L2.public_key, ALICE_DEPOSIT)
    node.mine()  # one block each: Alice is account 0
    l1.deposit(BOB_L1.private_key, rollup_id, BOB_L2.public_key, BOB_DEPOSIT)
    node.mine_until(lambda: get(proc, "/v1/status")["deposits_credited"] == 2, "deposits credited")
    transfer = post_tx(
        proc, sign_transaction(Transfer(0, 1, TRANSFERRED, 0, 0), ALICE_L2.private_key, config)
    )
    node.mine_until(
        lambda: get(proc, f"/v1/transactions/{transfer}")["status"] in ("safe", "final"),
        "batch 0 safe",
    )
    return transfer, config


def test_a_wrong_root_is_challenged_reverted_re_executed_and_finalized(
    node: L1TestNode, tmp_path: Path
) -> None:
    l1 = node.l1
    proc = _sequencer(node, tmp_path / "seq", fault="wrong-root inflate-balance")
    follower: Proc | None = None
    challenger: Proc | None = None
    try:
        proc.wait_healthy()
        rollup_id = bytes.fromhex(get(proc, "/v1/status")["rollup_id"][2:])
        node.mine()  # the rollup's creation
        assert l1.find_rollup_cell(rollup_id).state.game_clock == GAME_CLOCK
        follower = follower_proc(tmp_path / "follower", node.proc.url, rollup_id).start()
        follower.wait_healthy()
        transfer, config = _deposits_and_transfer(node, proc, rollup_id)
        # The faulty sequencer believes its inflated balances (each credit counted twice).
        assert get(proc, "/v1/accounts/1")["balance"] == 2 * (BOB_DEPOSIT + TRANSFERRED)
        posted = get(proc, "/v1/batches")["batches"]
        first_posting = {b["l1_tx_hash"] for b in posted}
        # The challenger starts now, so nothing is disputed before the wrong batches are seen.
        before = node.client.get_balance(l1.lock_of(derive_devnet_key(3).private_key))
        challenger = _challenger(node, tmp_path / "challenger", rollup_id)
        challenger.wait_healthy()
        # Alice withdraws on top of the wrong root (its batch, if posted before the revert, is
        # reverted with the wrong one; either way it is re-executed honestly).
        withdraw = Withdraw(0, WITHDRAWN, 0, 1, ALICE_L1.lock_args)
        withdrawal = post_tx(proc, sign_transaction(withdraw, ALICE_L2.private_key, config))

        def won() -> bool:
            return bool(get(challenger, "/v1/disputes")["stats"]["games_won"] >= 1)

        node.mine_until(won, "the challenger's win", 12 * GAME_CLOCK)
        disputes = get(challenger, "/v1/disputes")
        assert disputes["stats"]["one_steps"] == 1 and disputes["stats"]["games_won"] == 1
        events = get(challenger, "/v1/events")["events"]
        assert [e["kind"] for e in reversed(events)][:1] == ["challenge"]
        scan = l1.scan(rollup_id)
        [revert] = scan.reverts
        assert isinstance(revert.action, RevertBatches) and revert.action.batch_number == 0
        consumed = tuple(h for hashes in revert.action.deposit_lists for h in hashes)
        assert len(consumed) == 2 and revert.state.pending_forced == consumed
        assert scan.finalizations == ()  # the wrong batch never became final
        # The challenger's L1 balance grew by about the proposer's bond less the burn.
        gained = node.client.get_balance(l1.lock_of(derive_devnet_key(3).private_key)) - before
        assert gained > 250 * CKB - 1 * CKB

        def final() -> bool:
            batches = get(proc, "/v1/batches")["batches"]
            return bool(batches) and all(
                b["status"] == "final" and b["l1_tx_hash"] not in first_posting for b in batches
            )

        node.mine_until(final, "the batches re-posted and final", 4 * CHALLENGE + 20)
        again = get(proc, "/v1/batches")["batches"]
        assert (again[0]["deposit_start"], again[-1]["deposit_end"]) == (0, 2)
        assert get(proc, f"/v1/transactions/{transfer}")["status"] == "final"
        assert get(proc, f"/v1/transactions/{withdrawal}")["status"] == "final"
        assert get(proc, "/v1/accounts/0")["balance"] == ALICE_DEPOSIT - TRANSFERRED - WITHDRAWN
        assert get(proc, "/v1/accounts/1")["balance"] == BOB_DEPOSIT + TRANSFERRED
        log = proc.log_path.read_text(errors="replace")
        assert "reverted by the L1" in log and "executing honestly from now on" in log
        # Withdrawal cells exist only for final batches: the reverted batches never had any, and
        # Alice's withdrawal, re-executed into the re-posted batches, exists exactly once.
        scan = l1.scan(rollup_id)
        finalized = {f.batch.batch_hash for f in scan.finalizations if f.batch is not None}
        assert len(finalized) == len(again) and scan.reverted_batches
        assert all(
            r.batch is None or r.batch.batch_hash not in finalized for r in scan.reverted_batches
        )
        [cell] = scan.withdrawals
        assert (cell.args.owner_lock_args, cell.entry.amount if cell.entry else None) == (
            ALICE_L1.lock_args,
            WITHDRAWN,
        )
        state = l1.find_rollup_cell(rollup_id).state
        assert "0x" + state.state_root.hex() == again[-1]["new_root"]
        assert state.next_final_batch == len(again) and state.pending_forced == ()

        # The follower, from L1 alone, agrees with the re-posted batches.
        tip = node.client.get_tip_block_number()

        def followed() -> dict[str, Any] | None:
            status = get(follower, "/v1/status")
            return status if status["l1"]["processed_block"] >= tip else None

        status = wait_until(followed, 60, 0.2, "the follower at the tip")
        derivation = status["derivation"]
        assert first_posting <= {r["l1_tx_hash"] for r in derivation["reverted"]}
        assert derivation["findings"] == 0
        followed_batches = get(follower, "/v1/batches")["batches"]
        assert [(b["derived_root"], b["status"]) for b in followed_batches] == [
            (b["new_root"], "final") for b in again
        ]
    finally:
        for process in (challenger, follower):
            if process is not None:
                process.stop()
        proc.stop()


def test_a_dishonest_challenger_loses_to_the_defending_sequencer(
    node: L1TestNode, tmp_path: Path
) -> None:
    l1 = node.l1
    proc = _sequencer(node, tmp_path / "seq")
    try:
        proc.wait_healthy()
        rollup_id = bytes.fromhex(get(proc, "/v1/status")["rollup_id"][2:])
        node.mine()
        transfer, config = _deposits_and_transfer(node, proc, rollup_id)
        posted = get(proc, "/v1/batches")["batches"]
        proposer_lock = l1.lock_of(derive_devnet_key(7).private_key)
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
        liar.poll_once()
        assert liar.stats.challenges == 1
        node.mine()
        [game] = liar.dispute.list_games()
        before = node.client.get_balance(proposer_lock)

        def lost() -> bool:
            liar.poll_once()
            return liar.stats.games_lost == 1

        node.mine_until(lost, "the liar's loss", 12 * GAME_CLOCK)
        assert l1.scan(rollup_id).reverts == ()
        # The proposer got the liar's game cell less the burn (its own fees aside).
        gained = node.client.get_balance(proposer_lock) - before
        won = game.output.capacity - 250 * CKB
        assert won - 5 * CKB < gained <= won
        log = proc.log_path.read_text(errors="replace")
        assert "dispute on batch 0: one_step" in log
        defended = get(proc, "/v1/disputes")
        assert defended["stats"]["one_steps"] == 1 and defended["stats"]["games_won"] == 1
        assert "one_step" in [e["kind"] for e in defended["events"]]

        # The batch stands and becomes final once no game is open.
        node.mine_until(
            lambda: get(proc, f"/v1/transactions/{transfer}")["status"] == "final",
            "the honest batch final",
            4 * CHALLENGE + 20,
        )
        assert [b["l1_tx_hash"] for b in get(proc, "/v1/batches")["batches"]] == [
            b["l1_tx_hash"] for b in posted
        ]
        assert get(proc, "/v1/accounts/1")["balance"] == BOB_DEPOSIT + TRANSFERRED
    finally:
        proc.stop()
