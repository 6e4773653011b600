"""The job API in-process (TestClient, a real worker thread, the toy circuit)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from prover.app import create_app
from prover.artifacts import Artifacts
from prover.engine import BN254_FIELD_MODULUS
from prover.service import ProverService
from prover.store import JobStore
from tests.prover.conftest import compute_toy_inputs, requires_circomlib

pytestmark = requires_circomlib


@pytest.fixture
def client(toy_artifacts: Artifacts, tmp_path: Path) -> Iterator[TestClient]:
    service = ProverService(toy_artifacts, JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}"))
    with TestClient(create_app(service)) as test_client:
        yield test_client


def jsonable(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in inputs.items()}


def wait_done(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise TimeoutError(job_id)


def test_job_life_cycle(client: TestClient) -> None:
    inputs = jsonable(compute_toy_inputs(3, 4))
    response = client.post("/v1/jobs", json={"inputs": inputs, "label": "batch 3"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in ("queued", "proving", "done")
    assert job["label"] == "batch 3"
    assert len(job["id"]) == 64
    again = client.post("/v1/jobs", json={"inputs": inputs})
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    done = wait_done(client, job["id"])
    assert done["status"] == "done", done
    assert done["finished_at"] >= done["created_at"]
    assert done["progress"]["elapsed_s"] is not None
    proof = client.get(f"/v1/jobs/{job['id']}/proof").json()
    assert len(bytes.fromhex(proof["proof_hex"])) == 256
    assert proof["public_signals"] == [inputs["batch_input"]]
    assert proof["proof"]["curve"] == "bn128"
    listed = client.get("/v1/jobs", params={"status": "done"}).json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert client.get("/v1/verification-key").json()["nPublic"] == 1
    health = client.get("/v1/health").json()
    assert health["preset"] == "custom" and health["queue_length"] == 0
    metrics = client.get("/metrics").text
    assert 'rollcourt_prover_jobs{status="done"} 1.0' in metrics
    assert "rollcourt_prover_proving_seconds_count 1.0" in metrics
    assert "rollcourt_prover_queue_length 0.0" in metrics


def test_unsatisfiable_job_fails_clearly(client: TestClient) -> None:
    inputs = jsonable(compute_toy_inputs(13, 4))
    job_id = client.post("/v1/jobs", json={"inputs": inputs}).json()["id"]
    job = wait_done(client, job_id)
    assert job["status"] == "failed"
    assert "do not satisfy Toy" in job["error"]
    response = client.get(f"/v1/jobs/{job_id}/proof")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_done"
    assert "failed" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"inputs": {"preimage": [1, "x"], "batch_input": 1}}, 400, "is not an integer"),
        (
            {"inputs": {"preimage": [1, str(BN254_FIELD_MODULUS)], "batch_input": 1}},
            400,
            "not below the BN254 scalar field modulus",
        ),
        ({"inputs": {"preimage": [1, 2], "batch_input": 1, "zz": 1}}, 400, "unknown input"),
        ({"inputs": {"preimage": [1, 2]}}, 400, "missing input signal(s) batch_input"),
        ({"inputs": {"preimage": [1, 2.5], "batch_input": 1}}, 400, "expected an integer"),
        ({"inputs": {"batch_input": 1}, "extra": 1}, 422, "extra: Extra inputs are not permitted"),
        ({"inputs": [1, 2]}, 422, "inputs: Input should be a valid dictionary"),
        ({}, 422, "inputs: Field required"),
    ],
)
def test_bad_input_is_4xx(client: TestClient, body: Any, status: int, message: str) -> None:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_unknown_job_and_pending_proof(client: TestClient) -> None:
    response = client.get("/v1/jobs/" + "0" * 64)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/v1/jobs/" + "0" * 64 + "/proof").status_code == 404
    assert client.get("/v1/jobs", params={"status": "bogus"}).status_code == 422
    assert client.get("/healthz").json() == {"status": "ok"}
