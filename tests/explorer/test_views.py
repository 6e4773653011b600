"""The explorer's pure parts: blob summaries and the merged batch and dispute views."""

from __future__ import annotations

from explorer.blobs import compute_blob_summary
from explorer.overview import compute_batch_rows, compute_dispute_view
from l1.core.blobs import BYTES_PER_BLOB
from l2.batch import compute_batch_blobs
from l2.tx import Deposit, Transaction, Transfer


def test_a_batch_blob_shows_its_record_count_and_kinds() -> None:
    txs: list[Transaction] = [Deposit(0, 0, 5, bytes(33)), Transfer(0, 1, 2, 0, 0, bytes(64))]
    [blob] = compute_batch_blobs(txs)
    summary = compute_blob_summary(blob).to_json()
    assert summary["size"] == BYTES_PER_BLOB
    assert (summary["batch_version"], summary["record_count"]) == (1, 2)
    assert summary["record_kinds"] == ["deposit", "transfer"]
    assert summary["first_bytes"].startswith("0x") and len(summary["first_bytes"]) == 2 + 128


def test_a_blob_that_is_not_batch_data_is_still_summarized() -> None:
    for blob in (bytes(BYTES_PER_BLOB), b"\xff" * BYTES_PER_BLOB, b"short"):
        summary = compute_blob_summary(blob)
        assert summary.size == len(blob) and summary.record_count is None


def _view(number: int, status: str, tx: str, **extra: object) -> dict[str, object]:
    return {
        "number": number,
        "status": status,
        "tx_count": 2,
        "prev_root": "0xaa",
        "new_root": "0xbb",
        "l1_tx_hash": tx,
        "blob_versioned_hashes": ["0x01"],
        **extra,
    }


def test_batches_merge_the_sequencer_the_follower_and_reverted_ones() -> None:
    remembered = {"0xold": {**_view(0, "safe", "0xold"), "findings": 1, "tx_count": 3}}
    rows = compute_batch_rows(
        [_view(0, "final", "0xnew"), _view(1, "posted", "0xnext")],
        [_view(0, "final", "0xnew", derived_root="0xbb", findings=[])],
        [{"number": 0, "status": "reverted", "l1_tx_hash": "0xold", "reverted_at_block": 9}],
        remembered,
    )
    assert [(r["number"], r["status"]) for r in rows] == [
        (1, "soft"),
        (0, "final"),
        (0, "reverted"),
    ]
    assert rows[1]["derived_root"] == "0xbb" and rows[0]["source_status"] == "posted"
    assert rows[2]["tx_count"] == 3 and rows[2]["reverted_at_block"] == 9
    # Without a sequencer the follower's batches are the table.
    only = compute_batch_rows(None, [_view(0, "safe", "0xnew", findings=[{"k": 1}])], [], {})
    assert [(r["source"], r["findings"]) for r in only] == [("follower", 1)]


def test_a_settled_game_keeps_its_last_range_and_gets_the_outcome() -> None:
    game = {
        "out_point": "0x01:0",
        "batch_number": 0,
        "lo": 0,
        "hi": 1,
        "moves": 1,
        "max_moves": 2,
        "turn": "proposer",
        "proposer_clock": 8,
        "challenger_clock": 7,
        "timeout_at_block": 30,
        "ours": True,
        "our_side": "challenger",
    }
    batches = compute_batch_rows([_view(0, "safe", "0xa")], None, [], {})
    live = compute_dispute_view({"games": [game], "stats": {}}, [], batches, {})
    [shown] = live["games"]
    assert (shown["state"], shown["n"], live["open"]) == ("live", 2, 1)
    events = [{"kind": "won", "batch_number": 0}, {"kind": "challenge", "batch_number": 0}]
    ended = compute_dispute_view(
        {"games": [], "stats": {"games_won": 1}}, events, batches, {0: game}
    )
    [settled] = ended["games"]
    assert (settled["state"], settled["outcome"], settled["winner"]) == (
        "settled",
        "won",
        "challenger",
    )
    assert (settled["lo"], settled["hi"], ended["open"]) == (0, 1, 0)
    # Known from the events alone (the explorer started after the game).
    [bare] = compute_dispute_view({"games": []}, events, batches, {})["games"]
    assert bare["winner"] == "challenger" and bare["lo"] is None
