"""The sequencer SDK (``l2.client.sequencer``) against a real ``python -m sequencer`` process
with the devnet genesis accounts and no L1: signing with the domain read from ``/v1/status``,
soft receipts, bulk, withdrawals, proofs checked locally, and every refusal mapped to a
``SequencerError`` with the API's code and HTTP status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest

from l1.devnet_keys import DEVNET_KEYS
from l2.client import (
    AsyncSequencerClient,
    InvalidAccountProof,
    SequencerClient,
    SequencerError,
    SequencerUnreachable,
    TxView,
    WaitTimeout,
)
from l2.client.sequencer import SequencerBadResponse, parse_rollup_config
from l2.tx import Transfer, compute_tx_hash, sign_transaction
from sequencer.config import DEFAULT_CHAIN_ID, DEFAULT_ROLLUP_ID, DEVNET_GENESIS_BALANCE
from tests.sequencer.procs import sequencer_proc
from tests.support.procs import Proc, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEYS = [key.private_key for key in DEVNET_KEYS]
RECIPIENT = bytes(range(20))
MIN_WITHDRAWAL = 61 * 10**8


@pytest.fixture(scope="module")
def seq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = sequencer_proc(tmp_path_factory.mktemp("seq"), extra=("--batch-interval", "3600"))
    proc.start().wait_healthy()
    yield proc
    proc.stop()


@pytest.fixture
def client(seq: Proc) -> Iterator[SequencerClient]:
    with SequencerClient(seq.url) as c:
        yield c


def _error(call: object, *args: object, **kwargs: object) -> SequencerError:
    with pytest.raises(SequencerError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def test_status_gives_the_signing_domain(client: SequencerClient) -> None:
    config = client.rollup_config()
    assert config.chain_id == DEFAULT_CHAIN_ID
    assert config.rollup_id == bytes.fromhex(DEFAULT_ROLLUP_ID)
    assert config.preset.name == client.get_status()["preset"]


def test_transfer_is_soft_at_once_with_fetched_nonce(client: SequencerClient) -> None:
    before = client.get_account(1)
    assert before.public_key == DEVNET_KEYS[1].public_key
    view = client.submit_transfer(KEYS[1], 1, 2, 1234, fee=5)
    assert view.status == "soft" and view.duplicate is False
    assert (view.kind, view.from_index, view.to_index, view.amount, view.fee) == (
        "transfer", 1, 2, 1234, 5,
    )  # fmt: skip
    assert view.nonce == before.pending_nonce
    assert view.receipt == {"kind": "transfer", "fee": 5, "created_account": None,
                            "withdrawal": None}  # fmt: skip
    tx = sign_transaction(Transfer(1, 2, 1234, 5, view.nonce), KEYS[1], client.rollup_config())
    assert view.hash == compute_tx_hash(tx, client.rollup_config()) == client.compute_tx_hash(tx)
    after = client.get_account(1)
    assert after.nonce == before.nonce + 1 and after.balance == before.balance - 1239
    fetched = client.get_transaction(view.hash)
    assert fetched.soft_index == view.soft_index and fetched.post_root == view.post_root
    assert client.get_transaction("0x" + view.hash.hex()).hash == view.hash
    assert client.wait_for_status(view.hash, "soft", timeout=5).status == "soft"
    again = client.submit(tx)
    assert again.duplicate is True and again.hash == view.hash


def test_withdraw_and_withdrawal_queries(client: SequencerClient) -> None:
    view = client.submit_withdraw(KEYS[3], 3, MIN_WITHDRAWAL, RECIPIENT, fee=1)
    assert view.status == "soft" and view.kind == "withdraw"
    assert view.l1_recipient == RECIPIENT
    assert view.receipt is not None and view.receipt["withdrawal"]["amount"] == MIN_WITHDRAWAL
    by_account = client.get_withdrawals(account=3)
    assert by_account[-1]["tx_hash"] == "0x" + view.hash.hex()
    by_l1 = client.get_withdrawals(l1_recipient=RECIPIENT)
    assert by_l1[-1]["hash"] == by_account[-1]["hash"]
    error = _error(client.get_withdrawals)
    assert (error.code, error.status) == ("invalid_query", 400)
    error = _error(client.submit_withdraw, KEYS[3], 3, MIN_WITHDRAWAL - 1, RECIPIENT)
    assert (error.code, error.status) == ("amount_below_minimum", 400)
    assert "below the minimum" in error.message


def test_bulk_one_result_per_item(client: SequencerClient) -> None:
    config = client.rollup_config()
    nonce = client.get_account(4).pending_nonce
    first = sign_transaction(Transfer(4, 5, 10, 0, nonce), KEYS[4], config)
    second = sign_transaction(Transfer(4, 5, 11, 0, nonce + 1), KEYS[4], config)
    stale = sign_transaction(Transfer(4, 5, 12, 0, nonce), KEYS[4], config)
    results = client.submit_bulk([first, second, first, stale])
    assert [type(r) for r in results] == [TxView, TxView, TxView, SequencerError]
    views = [r for r in results if isinstance(r, TxView)]
    assert [v.status for v in views] == ["soft", "soft", "soft"]
    assert views[2].duplicate is True and views[2].hash == views[0].hash
    refused = results[3]
    assert isinstance(refused, SequencerError) and refused.code == "nonce_too_low"
    assert client.get_account(4).nonce == nonce + 2


def test_refusals_carry_code_message_and_status(client: SequencerClient) -> None:
    cases = [
        (lambda: client.get_account(500), "unknown_account", 404, "account 500 does not exist"),
        (lambda: client.get_account(1 << 40), "invalid_account_index", 400, "outside"),
        (lambda: client.get_transaction(bytes(32)), "not_found", 404, "no transaction 0x00"),
        (lambda: client.get_transaction("0x12"), "invalid_hash", 400, "must be 32 bytes"),
        (lambda: client.get_batch(99), "not_found", 404, "no batch 99"),
        (lambda: client.submit_transfer(KEYS[2], 1, 2, 1), "invalid_signature", 400,
         "account 1"),
        (lambda: client.submit_transfer(KEYS[1], 1, 2, 2 * DEVNET_GENESIS_BALANCE),
         "insufficient_balance", 400, ""),
        (lambda: client.submit_transfer(KEYS[1], 1, 9999, 1), "unknown_account", 400,
         "recipient account 9999 does not exist"),
        (lambda: client.submit_transfer(KEYS[1], 1, 2, 1, nonce=0), "nonce_too_low", 400,
         "nonce too low"),
    ]  # fmt: skip
    for call, code, status, message in cases:
        error = _error(call)
        assert (error.code, error.status) == (code, status), error
        assert message in error.message
        assert str(error) == f"{error.message} ({code})"


def test_wrong_domain_is_an_invalid_signature(seq: Proc) -> None:
    with SequencerClient(seq.url, chain_id=DEFAULT_CHAIN_ID + 1) as other:
        assert other.rollup_config().chain_id == DEFAULT_CHAIN_ID + 1
        assert _error(other.submit_transfer, KEYS[6], 6, 7, 1).code == "invalid_signature"
    with SequencerClient(seq.url, rollup_id=bytes(32)) as other:
        assert _error(other.submit_transfer, KEYS[6], 6, 7, 1).code == "invalid_signature"


def test_transport_failures_are_unreachable() -> None:
    with SequencerClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dead:
        error = _error(dead.get_status)
    assert isinstance(error, SequencerUnreachable) and error.code == "unreachable"
    assert "cannot connect to the sequencer at http://127.0.0.1:" in error.message
    with pytest.raises(SequencerUnreachable, match="must start with http"):
        SequencerClient("localhost:8300")


def test_a_non_api_answer_is_a_bad_response(seq: Proc) -> None:
    with SequencerClient(seq.url) as client:
        error = _error(client._request, "GET", "/metrics")
    assert isinstance(error, SequencerBadResponse) and error.status == 200
    with pytest.raises(SequencerBadResponse, match="identity"):
        parse_rollup_config({"chain_id": 1})


def test_account_proof_is_verified_locally(client: SequencerClient) -> None:
    status = client.get_status()
    soft_root = bytes.fromhex(status["heads"]["soft"]["state_root"][2:])
    proof = client.get_account_proof(2, state_root=soft_root)
    assert proof.account is not None and proof.account[0] == DEVNET_KEYS[2].public_key
    assert proof.state_root == soft_root
    assert client.get_account_proof(700).account is None  # an empty leaf proves too
    error = _error(client.get_account_proof, 2, state_root=bytes(32))
    assert isinstance(error, InvalidAccountProof) and error.code == "root_mismatch"
    assert proof.account is not None
    forged = replace(proof, account=(proof.account[0], proof.account[1] + 1, proof.account[2]))
    with pytest.raises(InvalidAccountProof, match="does not lead to accounts root"):
        forged.verify(client.rollup_config())
    bad_counters = replace(proof, next_deposit_index=proof.next_deposit_index + 1)
    with pytest.raises(InvalidAccountProof, match="does not follow"):
        bad_counters.verify(client.rollup_config())


def test_wait_for_safe_times_out_without_an_l1(client: SequencerClient) -> None:
    view = client.submit_transfer(KEYS[8], 8, 9, 1)
    error = _error(client.wait_for_status, view.hash, "safe", timeout=0.5, poll_interval=0.1)
    assert isinstance(error, WaitTimeout)
    assert error.message == (
        f"transaction 0x{view.hash.hex()} is still soft after 0.5 s (waiting for safe)"
    )
    with pytest.raises(ValueError, match="soft, safe or final"):
        client.wait_for_status(view.hash, "posted", timeout=0)  # type: ignore[arg-type]
    assert client.get_batches() == []


def test_async_client(seq: Proc) -> None:
    async def flow() -> None:
        async with AsyncSequencerClient(seq.url) as client:
            config = await client.rollup_config()
            assert config.chain_id == DEFAULT_CHAIN_ID
            view = await client.submit_transfer(KEYS[5], 5, 6, 77, fee=2)
            assert view.status == "soft" and view.amount == 77
            assert (await client.wait_for_status(view.hash, "soft", timeout=5)).hash == view.hash
            assert (await client.get_transaction(view.hash)).soft_index == view.soft_index
            account = await client.get_account(5)
            assert account.nonce == view.nonce + 1
            withdrawal = await client.submit_withdraw(KEYS[5], 5, MIN_WITHDRAWAL, RECIPIENT)
            assert withdrawal.status == "soft"
            assert (await client.get_withdrawals(account=5))[-1]["tx_hash"] == (
                "0x" + withdrawal.hash.hex()
            )
            nonce = (await client.get_account(5)).pending_nonce
            tx = sign_transaction(Transfer(5, 6, 1, 0, nonce), KEYS[5], config)
            [result] = await client.submit_bulk([tx])
            assert isinstance(result, TxView) and result.status == "soft"
            proof = await client.get_account_proof(5)
            assert proof.account is not None and proof.account[2] == nonce + 1
            status = await client.get_status()
            assert set(status["heads"]) == {"soft", "safe", "final"}
            assert await client.get_batches() == []
            with pytest.raises(SequencerError) as info:
                await client.get_account(500)
            assert (info.value.code, info.value.status) == ("unknown_account", 404)
            with pytest.raises(WaitTimeout):
                await client.wait_for_status(view.hash, "final", timeout=0.3, poll_interval=0.1)
        async with AsyncSequencerClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dead:
            with pytest.raises(SequencerUnreachable, match="cannot connect"):
                await dead.get_status()

    asyncio.run(flow())
