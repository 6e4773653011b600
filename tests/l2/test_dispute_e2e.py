"""The dispute game end to end on a real L1 node process (test spec, ``--dev-rpc`` blocks):
batches posted with ``RollupL1``, played by ``DisputePlayer``s -- a challenger deriving from L1
alone, the proposer defending with the trace it claimed -- with every move, timeout, one-step
proof and revert checked by the L1's ``rollup_game``/``rollup_state`` scripts.

Each test deploys its own rollup on one shared node. Blocks are mined one per round, after every
player polled once, so the games run at a deterministic pace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from l1.ckb.hashes import compute_header_hash
from l1.ckb.hashing import ckbhash
from l1.client import L1Client
from l1.core.scripts.rollup.layout import BURN_LOCK, compute_burn
from l1.devnet_keys import DEVNET_KEYS
from l2.batch import BatchCommitment, compute_batch_blobs, compute_batch_commitment
from l2.client.bridge import RollupL1, RollupParams
from l2.client.disputes import BatchEvidence
from l2.client.player import DisputePlayer, GameReport
from l2.config import RollupConfig
from l2.dispute import Side, compute_max_moves
from l2.onestep import compute_batch_trace
from l2.preset import DEVNET, SHANNONS_PER_CKB, TEST, L2Preset
from l2.profile import OPTIMISTIC
from l2.state import Account, L2State, create_genesis_state
from l2.stf import BatchResult, apply_batch
from l2.tx import Transaction, Transfer, sign_transaction
from sequencer.faults import FaultKind, apply_faulty_transaction
from tests.support.procs import Proc, l1_node

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 0
BOND = 500 * CKB
BURN_PERMILLE = 500
#: Each turn costs at least one block (a move cannot share a block with the cell it spends), so
#: a side needs about ceil(log2 n) / 2 blocks of clock plus its reaction time.
GAME_CLOCK = 12
#: Long enough that no batch finalizes during a game.
CHALLENGE_WINDOW = 200
PROPOSER = DEVNET_KEYS[7]
CHALLENGERS = (DEVNET_KEYS[3], DEVNET_KEYS[4])
USERS = tuple(ckbhash(b"dispute e2e user %d" % i) for i in range(4))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[L1Client]:
    data_dir: Path = tmp_path_factory.mktemp("dispute-node")
    proc: Proc = l1_node(data_dir).start()
    try:
        proc.wait_healthy()
        client = L1Client(proc.url)
        client.generate_block()
        yield client
        client.close()
    finally:
        proc.stop()


@dataclass
class Rollup:
    """One deployed rollup, the honest L2 state after its last batch, and its players."""

    client: L1Client
    tmp: Path
    preset: L2Preset
    rollup_id: bytes = b""
    config: RollupConfig | None = None
    genesis: L2State | None = None
    state: L2State | None = None
    nonces: dict[int, int] = field(default_factory=dict)
    l1: RollupL1 | None = None

    def deploy(self) -> Rollup:
        accounts = [Account(OPTIMISTIC.compute_public_key(k), 10_000 * CKB, 0) for k in USERS]
        probe = RollupConfig(CHAIN_ID, bytes(32), 0, self.preset, OPTIMISTIC)
        genesis = create_genesis_state(probe, accounts)
        self.l1 = RollupL1(self.client)
        params = RollupParams(
            chain_id=CHAIN_ID,
            bond=BOND,
            challenge_window=CHALLENGE_WINDOW,
            forced_inclusion_window=CHALLENGE_WINDOW,
            escape_timeout=1_000,
            l2_preset=self.preset.name,
            genesis_root=genesis.get_root(),
            proposer_lock_hash=self.l1.lock_hash_of(PROPOSER.private_key),
            game_clock=GAME_CLOCK,
            burn_permille=BURN_PERMILLE,
        )
        handle = self.l1.deploy_rollup(PROPOSER.private_key, params)
        self.client.generate_block()
        self.rollup_id = handle.rollup_id
        self.config = RollupConfig(CHAIN_ID, handle.rollup_id, 0, self.preset, OPTIMISTIC)
        self.genesis = create_genesis_state(self.config, accounts)
        self.state = self.genesis.copy()
        return self

    def transfers(self, count: int) -> list[Transaction]:
        """``count`` signed transfers with fees, round-robin between the users."""
        assert self.config is not None
        txs: list[Transaction] = []
        for i in range(count):
            sender, to = i % len(USERS), (i + 1) % len(USERS)
            nonce = self.nonces.get(sender, 0)
            self.nonces[sender] = nonce + 1
            txs.append(
                sign_transaction(
                    Transfer(sender, to, 1 * CKB, CKB // 100, nonce), USERS[sender], self.config
                )
            )
        return txs

    def post(self, txs: Sequence[Transaction], *, fault_at: int | None = None) -> BatchCommitment:
        """Post the next batch; with ``fault_at``, record ``fault_at`` is executed with the
        inflate-balance fault and everything after it builds on that (a wrong root)."""
        assert self.l1 is not None and self.config is not None and self.state is not None
        result = apply_wrong_batch(self.state, txs, self.config, fault_at)
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        blobs = compute_batch_blobs(list(txs))
        sidecars = self.l1.compute_sidecars(blobs)
        commitment = compute_batch_commitment(
            rollup.state.next_batch_number,
            result,
            [s.versioned_hash for s in sidecars],
            compute_header_hash(self.client.get_tip_header()),
            self.config,
        )
        self.l1.submit_batch(
            self.rollup_id,
            PROPOSER.private_key,
            commitment,
            sidecars,
            self.state.get_accounts_root(),
            self.state.next_account_index,
        )
        self.client.generate_block()
        return commitment

    def player(
        self,
        key: bytes,
        role: Side,
        name: str,
        *,
        dishonest: frozenset[int] = frozenset(),
        claimed: Callable[[BatchEvidence], Sequence[bytes] | None] | None = None,
    ) -> DisputePlayer:
        assert self.config is not None and self.genesis is not None
        return DisputePlayer(
            RollupL1(self.client),
            self.rollup_id,
            key,
            self.config,
            self.genesis,
            self.tmp / name,
            role=role,
            dishonest=dishonest,
            claimed_trace=claimed,
        )

    def rollup_state(self):  # type: ignore[no-untyped-def]
        assert self.l1 is not None
        return self.l1.find_rollup_cell(self.rollup_id).state

    def balance(self, key: bytes) -> int:
        assert self.l1 is not None
        return self.client.get_balance(self.l1.lock_of(key))


def apply_wrong_batch(
    state: L2State, txs: Sequence[Transaction], config: RollupConfig, fault_at: int | None
) -> BatchResult:
    """``apply_batch`` with the inflate fault at one record (mutates ``state``)."""
    if fault_at is None:
        return apply_batch(state, list(txs), config)
    head = apply_batch(state, list(txs[:fault_at]), config)
    apply_faulty_transaction(state, txs[fault_at], config, {}, FaultKind.INFLATE_BALANCE)
    faulty_root = state.get_root()
    tail = apply_batch(state, list(txs[fault_at + 1 :]), config)
    return BatchResult(
        pre_root=head.pre_root,
        roots=head.roots + (faulty_root,) + tail.roots,
        receipts=head.receipts + (None,) + tail.receipts,
        rejections=(),
        withdrawals=head.withdrawals + tail.withdrawals,
        deposit_start=head.deposit_start,
        deposit_end=tail.deposit_end,
    )


def claimed_with_fault(
    config: RollupConfig, fault_at: int
) -> Callable[[BatchEvidence], Sequence[bytes]]:
    """The faulty proposer defends the trace it computed."""

    def claimed(evidence: BatchEvidence) -> Sequence[bytes]:
        from l2.tx import decode_record

        txs = [decode_record(r, config.profile) for r in evidence.records]
        result = apply_wrong_batch(evidence.pre_state.copy(), txs, config, fault_at)
        return compute_batch_trace(result, config)

    return claimed


def play(
    rollup: Rollup,
    players: Sequence[DisputePlayer],
    done: Callable[[], bool],
    rounds: int = 80,
) -> list[GameReport]:
    """Poll every player, mine a block; repeat until ``done``. Returns every game report seen."""
    seen: list[GameReport] = []
    for _ in range(rounds):
        for player in players:
            player.poll_once()
        seen.extend(players[0].get_disputes())
        if done():
            return seen
        rollup.client.generate_block()
    raise AssertionError(f"the game did not end in {rounds} rounds; last reports: {seen[-3:]}")


def _burned(rollup: Rollup) -> int:
    return rollup.client.get_balance(BURN_LOCK)


# ----------------------------------------------------------------------------- the games
@pytest.mark.parametrize(
    ("size", "fault_at"),
    [(1, 0), (2, 1), (7, 0), (7, 3), (7, 6)],
    ids=["n1", "n2-last", "n7-first", "n7-middle", "n7-last"],
)
def test_wrong_root_is_challenged_bisected_to_its_record_and_reverted(
    node: L1Client, tmp_path: Path, size: int, fault_at: int
) -> None:
    rollup = Rollup(node, tmp_path, TEST).deploy()
    assert rollup.config is not None
    good = rollup.post(rollup.transfers(2))
    bad = rollup.post(rollup.transfers(size), fault_at=fault_at)
    challenger = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
    proposer = rollup.player(
        PROPOSER.private_key,
        Side.PROPOSER,
        "proposer",
        claimed=claimed_with_fault(rollup.config, fault_at),
    )
    before = rollup.balance(CHALLENGERS[0].private_key)
    burned = _burned(rollup)
    [_, bad_cell] = rollup.l1.find_batch_cells(rollup.rollup_id)  # type: ignore[union-attr]

    reports = play(
        rollup, [challenger, proposer], lambda: rollup.rollup_state().next_batch_number == 1
    )

    # The L1 is back at the last valid root; the wrong batch's cell is gone.
    state = rollup.rollup_state()
    assert (state.next_batch_number, state.state_root) == (1, good.new_root)
    assert [b.number for b in rollup.l1.find_batch_cells(rollup.rollup_id)] == [0]  # type: ignore[union-attr]
    # The game narrowed to the faulty record, within the move bound.
    last = reports[-1]
    assert (last.lo, last.hi) == (fault_at, fault_at + 1)
    assert max(r.moves for r in reports) + 1 <= compute_max_moves(size)
    assert challenger.stats.games_won == 1 and proposer.stats.games_lost == 1
    # The challenger got its bond back and the wrong batch's cell -- the proposer's bond and
    # the cell's rent -- less the burn (fees aside); the burn is burnt.
    burn = compute_burn(BOND, BURN_PERMILLE)
    gain = rollup.balance(CHALLENGERS[0].private_key) - before
    won = bad_cell.output.capacity - burn
    assert won - 1 * CKB < gain <= won
    assert _burned(rollup) - burned >= burn
    assert bad.batch_number == 1


def test_dishonest_challenger_loses_its_bond_to_an_honest_proposer(
    node: L1Client, tmp_path: Path
) -> None:
    rollup = Rollup(node, tmp_path, TEST).deploy()
    honest = rollup.post(rollup.transfers(7))
    liar = rollup.player(
        CHALLENGERS[0].private_key, Side.CHALLENGER, "liar", dishonest=frozenset({0})
    )
    proposer = rollup.player(PROPOSER.private_key, Side.PROPOSER, "proposer")
    before = rollup.balance(PROPOSER.private_key)
    liar.poll_once()
    rollup.client.generate_block()
    [game] = liar.dispute.list_games()

    play(rollup, [liar, proposer], lambda: proposer.stats.games_won == 1)
    state = rollup.rollup_state()
    assert (state.next_batch_number, state.state_root) == (1, honest.new_root)
    assert liar.stats.games_lost == 1 and proposer.stats.one_steps == 1
    [cell] = rollup.l1.find_batch_cells(rollup.rollup_id)  # type: ignore[union-attr]
    assert cell.batch.open_games == 0  # the batch stands
    # The proposer got the challenger's game cell -- its bond and rent -- less the burn.
    gain = rollup.balance(PROPOSER.private_key) - before
    won = game.output.capacity - compute_burn(BOND, BURN_PERMILLE)
    assert won - 1 * CKB < gain <= won


def test_a_silent_proposer_loses_on_time(node: L1Client, tmp_path: Path) -> None:
    rollup = Rollup(node, tmp_path, TEST).deploy()
    rollup.post(rollup.transfers(7), fault_at=2)
    challenger = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
    reports = play(rollup, [challenger], lambda: rollup.rollup_state().next_batch_number == 0)
    assert challenger.stats.timeouts_claimed == 1 and challenger.stats.games_won == 1
    # The proposer never moved: the game was still at the challenge when its clock ran out.
    assert {r.moves for r in reports} == {1}


def test_a_silent_challenger_loses_on_time(node: L1Client, tmp_path: Path) -> None:
    rollup = Rollup(node, tmp_path, TEST).deploy()
    rollup.post(rollup.transfers(7))
    liar = rollup.player(
        CHALLENGERS[0].private_key, Side.CHALLENGER, "liar", dishonest=frozenset({0})
    )
    proposer = rollup.player(PROPOSER.private_key, Side.PROPOSER, "proposer")
    liar.poll_once()  # challenges, then falls silent
    rollup.client.generate_block()
    assert liar.stats.challenges == 1
    play(rollup, [proposer], lambda: proposer.stats.games_won == 1)
    assert proposer.stats.timeouts_claimed == 1
    assert rollup.rollup_state().next_batch_number == 1


def test_two_challengers_one_wins_the_other_is_refunded_and_descendants_revert(
    node: L1Client, tmp_path: Path
) -> None:
    rollup = Rollup(node, tmp_path, TEST).deploy()
    assert rollup.config is not None
    rollup.post(rollup.transfers(7), fault_at=5)
    rollup.post(rollup.transfers(3))  # built on the wrong root
    first = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "first")
    second = rollup.player(CHALLENGERS[1].private_key, Side.CHALLENGER, "second")
    proposer = rollup.player(
        PROPOSER.private_key,
        Side.PROPOSER,
        "proposer",
        claimed=claimed_with_fault(rollup.config, 5),
    )
    balances = [rollup.balance(c.private_key) for c in CHALLENGERS]
    play(rollup, [first, second, proposer], lambda: rollup.rollup_state().next_batch_number == 0)
    assert rollup.l1.find_batch_cells(rollup.rollup_id) == []  # type: ignore[union-attr]
    assert first.stats.challenges == second.stats.challenges == 1
    gains = [rollup.balance(c.private_key) - b for c, b in zip(CHALLENGERS, balances, strict=True)]
    burn = compute_burn(BOND, BURN_PERMILLE)
    # One challenger won the proposer's bond; the other got its own bond back (fees aside).
    assert sorted(g // CKB for g in gains)[1] >= (BOND - burn) // CKB - 1
    assert sorted(gains)[0] > -1 * CKB


def test_a_1024_record_batch_is_disputed_within_the_move_bound(
    node: L1Client, tmp_path: Path
) -> None:
    rollup = Rollup(node, tmp_path, DEVNET).deploy()
    assert rollup.config is not None
    rollup.post(rollup.transfers(1024), fault_at=700)
    challenger = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
    proposer = rollup.player(
        PROPOSER.private_key,
        Side.PROPOSER,
        "proposer",
        claimed=claimed_with_fault(rollup.config, 700),
    )
    reports = play(
        rollup, [challenger, proposer], lambda: rollup.rollup_state().next_batch_number == 0
    )
    assert (reports[-1].lo, reports[-1].hi) == (700, 701)
    assert max(r.moves for r in reports) + 1 <= compute_max_moves(1024) == 12


def test_a_restarted_challenger_resumes_the_game_from_its_data_dir(
    node: L1Client, tmp_path: Path
) -> None:
    """The game lives in L1 cells and the derived states on disk: a new challenger process
    (here: a new player on the same data dir) picks the game up where the old one left it."""
    rollup = Rollup(node, tmp_path, TEST).deploy()
    assert rollup.config is not None
    rollup.post(rollup.transfers(3))
    rollup.post(rollup.transfers(7), fault_at=4)
    proposer = rollup.player(
        PROPOSER.private_key,
        Side.PROPOSER,
        "proposer",
        claimed=claimed_with_fault(rollup.config, 4),
    )
    first = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
    play(rollup, [first, proposer], lambda: bool(first.get_disputes()) and first.stats.moves >= 1)
    # The state after the honest batch 0 is persisted (the pre-state of the disputed batch).
    assert len(list((tmp_path / "challenger" / "states").glob("*.bin"))) == 1
    restarted = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
    reports = play(
        rollup, [restarted, proposer], lambda: rollup.rollup_state().next_batch_number == 1
    )
    assert restarted.stats.challenges == 0  # it did not open a second game
    assert (reports[-1].lo, reports[-1].hi) == (4, 5)
    assert restarted.stats.games_won == 1


def test_the_challenger_wins_across_an_l1_reorg_that_undid_its_challenge(
    tmp_path: Path,
) -> None:
    """Two nodes: the players talk to ``a``; ``c`` goes dark after the wrong batch, ``a`` records
    the challenge and the first moves, then ``c``'s longer chain wins the heal. The game's
    transactions are undone (they return to ``a``'s pool, and a move whose header dep was
    reorged out is dropped); the players, which re-read the game from the L1 every poll, carry
    on and the challenger still wins."""
    from tests.support.procs import wait_until

    a_proc = l1_node(tmp_path / "a").start()
    c_proc: Proc | None = None
    try:
        a_proc.wait_healthy()
        a = L1Client(a_proc.url)
        c_proc = l1_node(tmp_path / "c", peers=(a_proc.url,)).start()
        c_proc.wait_healthy()
        c = L1Client(c_proc.url)
        a.generate_block()
        rollup = Rollup(a, tmp_path, TEST).deploy()
        assert rollup.config is not None
        rollup.post(rollup.transfers(2))
        rollup.post(rollup.transfers(7), fault_at=5)

        def tip(client: L1Client) -> str:
            return str(client.call("get_tip_header")["hash"])

        wait_until(lambda: tip(a) == tip(c), 60, what="c in sync before the partition")
        c.call("set_network_active", False)
        challenger = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
        proposer = rollup.player(
            PROPOSER.private_key,
            Side.PROPOSER,
            "proposer",
            claimed=claimed_with_fault(rollup.config, 5),
        )
        for _ in range(3):  # the challenge and a move or two, on a only
            for player in (challenger, proposer):
                player.poll_once()
            a.generate_block()
        assert challenger.stats.challenges == 1 and challenger.get_disputes()
        for _ in range(8):
            c.generate_block()
        c.call("set_network_active", True)
        c.call("add_node", a_proc.url, a_proc.url)
        wait_until(lambda: tip(a) == tip(c), 60, what="a reorged onto c's chain")
        assert challenger.dispute.list_games() == []  # the game's transactions were undone

        play(rollup, [challenger, proposer], lambda: rollup.rollup_state().next_batch_number == 1)
        assert challenger.stats.games_won == 1
        assert rollup.rollup_state().state_root != bytes(32)
        a.close()
        c.close()
    finally:
        if c_proc is not None:
            c_proc.stop()
        a_proc.stop()


def test_a_revert_landing_between_the_players_reads_is_still_a_win(
    node: L1Client, tmp_path: Path
) -> None:
    """Regression (seen in CI): a player reads the batch cells and the game cells in two RPC
    calls; when the block settling its game lands between them, the game must not be counted
    as lost. The block is mined right after every batch-list read, the worst moment."""
    rollup = Rollup(node, tmp_path, TEST).deploy()
    assert rollup.config is not None
    rollup.post(rollup.transfers(2))
    rollup.post(rollup.transfers(1), fault_at=0)
    challenger = rollup.player(CHALLENGERS[0].private_key, Side.CHALLENGER, "challenger")
    proposer = rollup.player(
        PROPOSER.private_key,
        Side.PROPOSER,
        "proposer",
        claimed=claimed_with_fault(rollup.config, 0),
    )

    class BlockAfterBatchList:
        """The challenger's DisputeL1, mining a block right after each batch-list read."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def list_batches(self) -> Any:
            batches = self.inner.list_batches()
            rollup.client.generate_block()
            return batches

    challenger._dispute = BlockAfterBatchList(challenger.dispute)  # type: ignore[assignment]
    # No other blocks: every transaction either side sends is committed by the block mined in
    # the middle of the challenger's next poll.
    for _ in range(80):
        challenger.poll_once()
        proposer.poll_once()
        if rollup.rollup_state().next_batch_number == 1 and challenger.stats.games_won:
            break
    assert rollup.rollup_state().next_batch_number == 1
    assert (challenger.stats.games_won, challenger.stats.games_lost) == (1, 0)
