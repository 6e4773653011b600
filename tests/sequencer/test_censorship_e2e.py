"""Forced inclusion against a censoring sequencer (docs/rollup-on-l1.md "ForceDeposit" and
"SubmitBatch" check 5): a real L1 node (test spec, ``--dev-rpc``; the test mines) and a real
sequencer run with the test-only fault ``--fault ignore-deposits-of X``.

- The faulty sequencer never credits the deposit for key X but keeps batching other users'
  transfers, and those batches land.
- Once the forced-inclusion window has passed, a third party forces X's deposit
  (``RollupL1.force_deposit``); from then on every batch the sequencer tries to post is refused by
  the L1's ``rollup_state`` verifier ("the batch ignores pending forced deposits"): the sequencer
  can halt, but it cannot censor.
- Restarted honestly (no fault) on the same data dir, the sequencer credits the forced deposit
  to X on its soft state and recovers (``Sequencer.recover_refused``): its poster finds the first
  batch sealed while censoring unpostable ("forced deposits are pending"), so the batches it
  sealed while censoring (none on L1) are discarded, the soft state goes back to the last batch
  on L1, X's deposit is re-applied first, then the acknowledged transfers of the discarded
  batches, and the result is re-sealed and lands: X's deposit is absorbed and every
  acknowledged transfer is in a landed batch (none had to be dropped).

The first tests are fast checks of the fault flag's configuration (no processes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.config import RollupConfig
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.tx import Transaction, Transfer, encode_record, sign_transaction
from sequencer.config import SequencerConfig, parse_fault
from tests.sequencer.procs import L1TestNode, running_l1_node, sequencer_proc
from tests.support.procs import Proc, wait_until

CKB = SHANNONS_PER_CKB
CHAIN_ID = 7
CHALLENGE, FORCED = 4, 6
PROPOSER = "devnet:7"
ALICE_L1, BOB_L1, VICTIM_L1, FORCER = (DEVNET_KEYS[i] for i in (1, 2, 5, 6))
#: L2 keys: Alice (account 0), Bob (account 1), X (the censored one; account 2 once credited).
ALICE_L2, BOB_L2, X_L2 = (derive_devnet_key(i) for i in (300, 301, 302))
ALICE_DEPOSIT, BOB_DEPOSIT, X_DEPOSIT = 1_000 * CKB, 400 * CKB, 250 * CKB
IGNORES_FORCED = "the batch ignores pending deposits"


# ----------------------------------------------------------------------------- the flag (fast)
def test_the_fault_parses_to_the_ignored_key(tmp_path: Path) -> None:
    fault = f"ignore-deposits-of 0x{X_L2.public_key.hex()}"
    assert parse_fault(fault) == X_L2.public_key
    config = SequencerConfig(data_dir=tmp_path, preset="test", fault=fault)
    assert config.ignored_deposit_key() == X_L2.public_key
    assert SequencerConfig(data_dir=tmp_path).ignored_deposit_key() is None


@pytest.mark.parametrize(
    "fault",
    ["ignore-deposits-of", "ignore-deposits-of zz", "ignore-deposits-of " + "04" * 33, "crash"],
)
def test_a_malformed_fault_is_refused(tmp_path: Path, fault: str) -> None:
    with pytest.raises(ValueError, match="fault"):
        SequencerConfig(data_dir=tmp_path, preset="test", fault=fault)


def test_the_fault_is_refused_outside_the_devnet_and_test_presets(tmp_path: Path) -> None:
    fault = f"ignore-deposits-of {X_L2.public_key.hex()}"
    SequencerConfig(data_dir=tmp_path, preset="devnet", fault=fault)
    with pytest.raises(ValueError, match="only allowed on the devnet and test presets"):
        SequencerConfig(data_dir=tmp_path, preset="large", fault=fault)


# ----------------------------------------------------------------------------- e2e helpers
Node = L1TestNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_l1_node(tmp_path_factory.mktemp("l1-node")) as running:
        yield running


def start_sequencer(node: Node, data_dir: Path, *, fault: bool) -> Proc:
    env = {
        "ROLLCOURT_SEQ_L1_URL": node.proc.url,
        "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
        "ROLLCOURT_SEQ_PRESET": "test",
        "ROLLCOURT_SEQ_CHAIN_ID": str(CHAIN_ID),
        "ROLLCOURT_SEQ_CHALLENGE_WINDOW": str(CHALLENGE),
        "ROLLCOURT_SEQ_FORCED_INCLUSION_WINDOW": str(FORCED),
        "ROLLCOURT_SEQ_ESCAPE_TIMEOUT": "500",
        "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
        "ROLLCOURT_SEQ_L1_MAX_BACKOFF": "1",
        "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
    }
    extra = ("--fault", f"ignore-deposits-of {X_L2.public_key.hex()}") if fault else ()
    return sequencer_proc(data_dir, env=env, extra=extra).start()


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


def balance(proc: Proc, index: int) -> int | None:
    response = httpx.get(f"{proc.url}/v1/accounts/{index}", timeout=10)
    return response.json()["balance"] if response.status_code == 200 else None


def batches(proc: Proc) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = get(proc, "/v1/batches")["batches"]
    return out


def all_landed(proc: Proc) -> bool:
    """Nothing unbatched and every batch committed on L1 (safe or final).  The status is read
    first: a batch is in the store before its transactions leave ``unbatched``, so a batch sealed
    between the two reads is listed (and is not safe yet)."""
    if get(proc, "/v1/status")["unbatched"] != 0:
        return False
    listed = batches(proc)
    return bool(listed) and all(b["status"] in ("safe", "final") for b in listed)


def all_final(proc: Proc) -> bool:
    """Every batch finalized on L1 by the sequencer (so it has no rollup transaction in the
    pool: the rollup cell is free for a third party's ForceDeposit)."""
    if get(proc, "/v1/status")["unbatched"] != 0:
        return False
    listed = batches(proc)
    return bool(listed) and all(b["status"] == "final" for b in listed)


def reasons(proc: Proc) -> str:
    return " | ".join(get(proc, "/v1/status")["degraded_reasons"])


# ----------------------------------------------------------------------------- the flow
@pytest.mark.e2e
@pytest.mark.slow
def test_a_censoring_sequencer_halts_once_the_deposit_is_forced_then_recovers(
    node: Node, tmp_path: Path
) -> None:
    data_dir = tmp_path / "seq"
    proc = start_sequencer(node, data_dir, fault=True)
    try:
        proc.wait_healthy()
        status = get(proc, "/v1/status")
        rollup_id = bytes.fromhex(status["rollup_id"][2:])
        config = RollupConfig(CHAIN_ID, rollup_id, 0, TEST, OPTIMISTIC)
        node.mine()  # the rollup's creation
        node.l1.find_rollup_cell(rollup_id)

        # Alice, X and Bob deposit (one block each): X's deposit is never credited.
        node.l1.deposit(ALICE_L1.private_key, rollup_id, ALICE_L2.public_key, ALICE_DEPOSIT)
        node.mine()
        x_tx = node.l1.deposit(VICTIM_L1.private_key, rollup_id, X_L2.public_key, X_DEPOSIT)
        node.mine()
        node.l1.deposit(BOB_L1.private_key, rollup_id, BOB_L2.public_key, BOB_DEPOSIT)
        node.mine_until(lambda: balance(proc, 1) == BOB_DEPOSIT, "Alice and Bob credited")
        assert balance(proc, 0) == ALICE_DEPOSIT
        assert balance(proc, 2) is None
        assert get(proc, "/v1/status")["deposits_credited"] == 2

        # The sequencer keeps batching other users' transfers, and those batches land (they
        # absorb Alice's and Bob's deposit cells and leave X's alone).
        acked: list[str] = []
        for nonce in range(2):
            acked.append(
                post_tx(
                    proc,
                    sign_transaction(Transfer(0, 1, CKB, 0, nonce), ALICE_L2.private_key, config),
                )
            )
            node.mine_until(lambda: all_landed(proc), f"transfer batch {nonce} landed", 40)
        landed = len(batches(proc))
        state = node.l1.find_rollup_cell(rollup_id).state
        assert (state.next_batch_number, state.next_deposit_index) == (landed, 2)
        [x_cell] = node.l1.list_pending_deposits(rollup_id)
        assert x_cell.out_point.tx_hash == x_tx and x_cell.args.public_key == X_L2.public_key
        assert balance(proc, 2) is None

        # After the forced-inclusion window a third party forces X's deposit.
        x_block = int(
            node.client.call("get_transaction", "0x" + x_tx.hex())["tx_status"]["block_number"], 16
        )
        node.mine(max(0, x_block + FORCED - node.client.get_tip_block_number()))
        # The sequencer finalizes its batches (its FinalizeBatch spends the rollup cell too).
        node.mine_until(lambda: all_final(proc), "the landed batches finalized", 40)
        force_tx = node.l1.force_deposit(rollup_id, FORCER.private_key, [x_cell])
        node.mine()
        assert node.l1.get_tx_status(force_tx) == "committed"
        state = node.l1.find_rollup_cell(rollup_id).state
        assert state.pending_forced == (x_cell.deposit_hash(),)

        # From now on every batch the faulty sequencer tries to post is refused by the L1.
        refused = [
            post_tx(proc, sign_transaction(Transfer(0, 1, CKB, 0, 2), ALICE_L2.private_key, config))
        ]
        refusal = node.mine_until(
            lambda: IGNORES_FORCED in (r := reasons(proc)) and r, "the L1 refusing batch", 10
        )
        assert "L1RpcError" in refusal and "rollup_state" in refusal, refusal
        assert get(proc, "/v1/status")["health"] == "degraded"
        refused.append(
            post_tx(proc, sign_transaction(Transfer(1, 0, CKB, 0, 0), BOB_L2.private_key, config))
        )
        wait_until(lambda: len(batches(proc)) == landed + 2, 20, 0.2, "a second batch sealed")
        node.mine(4)
        time.sleep(1.5)
        node.mine(2)
        assert node.l1.find_rollup_cell(rollup_id).state.next_batch_number == landed
        assert [b["status"] for b in batches(proc)[landed:]] == ["sealed", "sealed"]
        assert all(b["l1_tx_hash"] is None for b in batches(proc)[landed:])
        assert IGNORES_FORCED in reasons(proc)
        assert balance(proc, 2) is None  # still censored on L2
        log = proc.log_path.read_text(errors="replace")
        assert "FAULT INJECTION" in log and "FORCED deposit" in log
    finally:
        proc.stop()

    # Restarted honestly on the same data dir: the forced deposit is credited to X (queue
    # index 2, account 2) on the soft state; the poster finds the batches sealed while censoring
    # unpostable, so they are discarded and re-sequenced (X's deposit first, then Alice's and
    # Bob's acknowledged transfers) into one batch that lands.
    log_offset = len(proc.log_path.read_text(errors="replace"))
    proc = start_sequencer(node, data_dir, fault=False)
    try:
        proc.wait_healthy()
        node.mine_until(lambda: balance(proc, 2) == X_DEPOSIT, "the forced deposit credited", 10)
        [*_, x_credit] = get(proc, "/v1/deposits")["deposits"]
        assert (x_credit["deposit_index"], x_credit["to_index"], x_credit["amount"]) == (
            2,
            2,
            X_DEPOSIT,
        )
        node.mine_until(
            lambda: (
                all_landed(proc)
                and node.l1.find_rollup_cell(rollup_id).state.next_batch_number == landed + 1
            ),
            "the re-sealed batch landed",
            40,
        )
        state = node.l1.find_rollup_cell(rollup_id).state
        assert (state.next_batch_number, state.next_deposit_index) == (landed + 1, 3)
        assert state.pending_forced == ()
        assert node.l1.list_pending_deposits(rollup_id) == []
        assert len(batches(proc)) == landed + 1
        resealed = get(proc, f"/v1/batches/{landed}")
        assert resealed["transactions"] == [x_credit["hash"], *refused]
        assert (resealed["deposit_start"], resealed["deposit_end"]) == (2, 3)
        assert resealed["l1_tx_hash"] is not None
        x_view = get(proc, f"/v1/transactions/{x_credit['hash']}")
        assert x_view["status"] in ("safe", "final") and x_view["batch"]["number"] == landed
        # Every acknowledged transfer is in a landed batch; none was dropped.
        for number, hashes in ((None, acked), (landed, refused)):
            for tx_hash in hashes:
                view = get(proc, f"/v1/transactions/{tx_hash}")
                assert view["status"] in ("safe", "final"), view
                assert view["error"] is None, view
                if number is not None:
                    assert view["batch"]["number"] == number, view
                else:
                    assert view["batch"]["number"] < landed, view
        assert balance(proc, 0) == ALICE_DEPOSIT - 2 * CKB
        assert balance(proc, 1) == BOB_DEPOSIT + 2 * CKB
        assert balance(proc, 2) == X_DEPOSIT
        wait_until(lambda: get(proc, "/v1/status")["health"] == "ok", 20, 0.2, "healthy again")
        log = proc.log_path.read_text(errors="replace")[log_offset:]
        assert "FAULT" not in log
        # The two batches sealed while censoring, and one holding X's deposit if it was sealed
        # before the recovery ran; the three soft transactions re-sequenced, none dropped.
        assert re.search(
            rf"batch {landed} refused by the L1 \(batch {landed} consumes 0 deposits but 1 "
            r"deposits are pending from 2 \(at least 1 must come first\)\): discarded [23] sealed "
            r"batches, re-sequenced 3 soft "
            r"transactions from soft index \d+ \(deposits first\), dropped 0\n",
            log,
        ), log
    finally:
        proc.stop()
