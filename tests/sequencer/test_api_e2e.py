"""The sequencer's REST API against a real ``python -m sequencer`` process: shapes, soft
receipts at once, and bad input answered with precise 4xx errors that change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from l2.config import RollupConfig
from sequencer.config import SequencerConfig
from tests.sequencer.kit import BALANCE, high_s, transfer, transfer_json, withdraw
from tests.sequencer.procs import sequencer_proc
from tests.support.procs import Proc, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG: RollupConfig = SequencerConfig().rollup_config()


@pytest.fixture(scope="module")
def seq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = sequencer_proc(
        tmp_path_factory.mktemp("seq"),
        extra=("--batch-max-txs", "3", "--batch-interval", "3600", "--max-request-bytes", "65536"),
    )
    proc.start().wait_healthy()
    yield proc
    proc.stop()


def get(seq: Proc, path: str) -> Any:
    response = httpx.get(seq.url + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def post(seq: Proc, body: Any, path: str = "/v1/transactions") -> httpx.Response:
    return httpx.post(seq.url + path, json=body, timeout=10)


def nonce_of(seq: Proc, index: int) -> int:
    return int(get(seq, f"/v1/accounts/{index}")["nonce"])


def test_soft_receipt_at_once_and_get_shapes(seq: Proc) -> None:
    nonce = nonce_of(seq, 1)
    tx = transfer(CONFIG, 1, 2, 1000, nonce, fee=3)
    response = post(seq, transfer_json(tx))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "soft" and body["duplicate"] is False
    assert body["receipt"] == {
        "kind": "transfer",
        "fee": 3,
        "created_account": None,
        "withdrawal": None,
    }
    assert body["hash"].startswith("0x") and len(body["hash"]) == 66
    again = get(seq, f"/v1/transactions/{body['hash']}")
    assert {k: again[k] for k in ("hash", "status", "soft_index", "receipt", "post_root")} == {
        k: body[k] for k in ("hash", "status", "soft_index", "receipt", "post_root")
    }
    account = get(seq, "/v1/accounts/1")
    assert account["nonce"] == nonce + 1 and account["pending_nonce"] == nonce + 1
    assert account["balance"] < BALANCE
    proof = get(seq, "/v1/accounts/1/proof")
    assert proof["valid"] is True and len(proof["siblings"]) == CONFIG.preset.tree_depth
    assert get(seq, "/v1/accounts/500/proof")["account"] is None
    status = get(seq, "/v1/status")
    assert set(status["heads"]) == {"soft", "safe", "final"}
    assert status["heads"]["soft"]["state_root"] == proof["state_root"]
    assert status["heads"]["safe"]["batch"] is None and status["poster"] == "null"
    assert "rollcourt_seq_transactions_accepted_total" in httpx.get(seq.url + "/metrics").text
    schema = get(seq, "/openapi.json")
    assert "/v1/transactions" in schema["paths"] and "TransferIn" in schema["components"]["schemas"]
    assert httpx.get(seq.url + "/docs").status_code == 200


def test_queue_bulk_batches_and_withdrawals(seq: Proc) -> None:
    nonce = nonce_of(seq, 3)
    queued = post(seq, transfer_json(transfer(CONFIG, 3, 4, 5, nonce + 1)))
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    assert get(seq, "/v1/accounts/3")["pending_nonce"] == nonce + 2
    w = withdraw(CONFIG, 3, CONFIG.preset.min_withdrawal_amount, nonce + 2, fee=1)
    bulk = post(
        seq,
        {
            "transactions": [
                transfer_json(transfer(CONFIG, 3, 4, 5, nonce)),
                {
                    "kind": "withdraw",
                    "from_index": 3,
                    "amount": w.amount,
                    "fee": w.fee,
                    "nonce": w.nonce,
                    "l1_recipient": "0x" + w.l1_recipient.hex(),
                    "signature": "0x" + w.signature.hex(),
                },
                transfer_json(transfer(CONFIG, 3, 4, 5, nonce)),  # duplicate of item 0
                transfer_json(transfer(CONFIG, 3, 4, 6, nonce)),  # nonce reused, other payload
            ]
        },
        "/v1/transactions/bulk",
    )
    assert bulk.status_code == 200, bulk.text
    results = bulk.json()["results"]
    assert [r.get("status") for r in results[:3]] == ["soft", "soft", "soft"]
    assert results[2]["duplicate"] is True and results[2]["hash"] == results[0]["hash"]
    assert results[3]["error"]["code"] == "nonce_too_low"
    assert get(seq, f"/v1/transactions/{queued.json()['hash']}")["status"] == "soft"
    withdrawals = get(seq, "/v1/withdrawals?account=3")["withdrawals"]
    assert withdrawals[-1]["amount"] == w.amount and withdrawals[-1]["hash"].startswith("0x")
    by_l1 = get(seq, "/v1/withdrawals?l1_recipient=0x" + w.l1_recipient.hex())["withdrawals"]
    assert by_l1[-1]["tx_hash"] == withdrawals[-1]["tx_hash"]

    def sealed() -> list[dict[str, Any]]:
        return list(get(seq, "/v1/batches")["batches"])

    batches = wait_until(sealed, 30, 0.2, "a sealed batch")
    first = get(seq, f"/v1/batches/{batches[0]['number']}")
    assert first["status"] == "sealed" and first["tx_count"] == 3 and first["l1_tx_hash"] is None
    assert len(first["transactions"]) == 3 and first["blob_versioned_hashes"][0].startswith("0x01")
    tx = get(seq, f"/v1/transactions/{first['transactions'][0]}")
    assert tx["batch"] == {"number": first["number"], "position": 0, "status": "sealed"}
    assert tx["status"] == "soft"  # sealed, not on L1: still soft
    # Without an L1 there is no dispute game and no defender.
    assert get(seq, "/v1/disputes") == {
        "games": [],
        "stats": None,
        "events": [],
        "last_error": None,
    }


def _state(seq: Proc) -> tuple[Any, ...]:
    status = get(seq, "/v1/status")
    return (
        status["heads"]["soft"],
        status["mempool"],
        [get(seq, f"/v1/accounts/{i}") for i in range(3)],
    )


def _bad_cases() -> list[tuple[str, bytes, dict[str, str], int, str, str]]:
    good = transfer(CONFIG, 1, 2, 10, 0)
    base = transfer_json(good)
    js = {"content-type": "application/json"}

    def with_(**changes: Any) -> bytes:
        return json.dumps({**base, **changes}).encode()

    return [
        ("truncated", b'{"kind":', js, 400, "malformed_body", "not valid JSON"),
        ("not-utf8", b"\xff\xfe", js, 400, "malformed_body", "UTF-8"),
        ("empty", b"", js, 400, "malformed_body", "empty"),
        (
            "wrong-type",
            with_(),
            {"content-type": "text/plain"},
            400,
            "unsupported_media_type",
            "application/json",
        ),
        (
            "dup-key",
            b'{"kind":"transfer","kind":"transfer"}',
            js,
            400,
            "malformed_body",
            "duplicate key",
        ),
        ("deep", b"[" * 5000 + b"]" * 5000, js, 400, "malformed_body", "nests too deeply"),
        ("nan", b'{"amount": NaN}', js, 400, "malformed_body", "NaN"),
        ("unknown-field", with_(memo="hi"), js, 422, "invalid_field", "memo"),
        (
            "no-kind",
            json.dumps({k: v for k, v in base.items() if k != "kind"}).encode(),
            js,
            422,
            "invalid_field",
            "kind",
        ),
        ("nonce-2^64", with_(nonce=2**64), js, 422, "invalid_field", "nonce"),
        ("amount-2^256", with_(amount=2**256), js, 422, "invalid_field", "amount"),
        ("negative", with_(amount=-1), js, 422, "invalid_field", "amount"),
        ("float", with_(amount=1.5), js, 422, "invalid_field", "amount"),
        ("string-int", with_(amount="10"), js, 422, "invalid_field", "amount"),
        ("bool", with_(fee=True), js, 422, "invalid_field", "fee"),
        ("list", with_(nonce=[0]), js, 422, "invalid_field", "nonce"),
        ("fee-u48", with_(fee=2**48), js, 422, "invalid_field", "fee"),
        ("sig-0x", with_(signature="0x"), js, 422, "invalid_field", "signature must be 64 bytes"),
        ("sig-odd", with_(signature="0x" + "a" * 127), js, 422, "invalid_field", "odd"),
        (
            "sig-upper",
            with_(signature=base["signature"].upper().replace("0X", "0x")),
            js,
            422,
            "invalid_field",
            "lowercase",
        ),
        ("sig-no-prefix", with_(signature=base["signature"][2:]), js, 422, "invalid_field", "0x"),
        (
            "sig-garbage",
            with_(signature="0x" + "zz" * 64),
            js,
            422,
            "invalid_field",
            "lowercase hex",
        ),
        (
            "record-deposit",
            json.dumps({"kind": "record", "record": "0x01" + "00" * 123}).encode(),
            js,
            400,
            "deposit_not_accepted",
            "L1",
        ),
        (
            "record-bad",
            json.dumps({"kind": "record", "record": "0x09" + "00" * 123}).encode(),
            js,
            400,
            "invalid_record",
            "kind",
        ),
    ]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_bodies_get_precise_4xx_and_change_nothing(
    seq: Proc, case: tuple[str, bytes, dict[str, str], int, str, str]
) -> None:
    _, content, headers, status, code, text = case
    before = _state(seq)
    response = httpx.post(seq.url + "/v1/transactions", content=content, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and text in error["message"], error
    assert _state(seq) == before


def test_signature_and_replay_rejections_change_nothing(seq: Proc) -> None:
    nonce = nonce_of(seq, 5)
    good = transfer(CONFIG, 5, 6, 10, nonce)
    other_chain = transfer(replace(CONFIG, chain_id=CONFIG.chain_id + 1), 5, 6, 10, nonce)
    wrong_key = transfer(CONFIG, 5, 6, 10, nonce, key=6)
    cases = [
        (replace(good, signature=high_s(good.signature)), "invalid_signature", "s"),
        (other_chain, "invalid_signature", "account 5"),
        (wrong_key, "invalid_signature", "account 5"),
        (transfer(CONFIG, 5, 6, BALANCE * 2, nonce), "insufficient_balance", "needs"),
        (transfer(CONFIG, 5, 6, 10, nonce + 100), "nonce_too_far_ahead", "too far ahead"),
        (transfer(CONFIG, 5, 999, 10, nonce), "unknown_account", "recipient account 999"),
    ]
    before = _state(seq), get(seq, "/v1/accounts/5")
    for tx, code, text in cases:
        response = post(seq, transfer_json(tx))
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == code and text in error["message"], error
    assert (_state(seq), get(seq, "/v1/accounts/5")) == before
    first = post(seq, transfer_json(good))
    assert first.status_code == 200
    replay = post(seq, transfer_json(good))
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert replay.json()["hash"] == first.json()["hash"]
    malleated = post(seq, transfer_json(replace(good, signature=high_s(good.signature))))
    assert malleated.status_code == 400 and malleated.json()["error"]["code"] == "invalid_signature"
    low = post(seq, transfer_json(transfer(CONFIG, 5, 6, 11, nonce)))
    assert low.status_code == 400 and "nonce too low" in low.json()["error"]["message"]
    assert get(seq, "/v1/accounts/5")["nonce"] == nonce + 1


def test_oversized_bodies_get_413_and_the_server_stays_up(seq: Proc) -> None:
    big = b'{"kind": "' + b"a" * 200_000 + b'"}'
    response = httpx.post(
        seq.url + "/v1/transactions", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b"a" * 10_000

    streamed = httpx.post(
        seq.url + "/v1/transactions",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert httpx.get(seq.url + "/healthz").status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/transactions/0x1234", 400, "invalid_hash"),
        ("/v1/transactions/0x" + "00" * 32, 404, "not_found"),
        ("/v1/accounts/999", 404, "unknown_account"),
        ("/v1/accounts/70000", 400, "invalid_account_index"),
        ("/v1/accounts/abc", 422, "invalid_request"),
        ("/v1/batches/99999", 404, "not_found"),
        ("/v1/withdrawals", 400, "invalid_query"),
        ("/v1/withdrawals?l1_recipient=0xzz", 400, "invalid_query"),
        ("/v1/nothing", 404, "not_found"),
    ],
)
def test_get_errors(seq: Proc, path: str, status: int, code: str) -> None:
    response = httpx.get(seq.url + path)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
