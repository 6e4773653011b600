"""``ProverClient``: the prover service's job API (``python -m prover``) over HTTP (httpx, sync).

Part of the MIT-licensed SDK: it speaks the documented HTTP API only and imports nothing of the
GPL-licensed ``prover`` package (README "Licences")."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "InvalidJobInputs",
    "JobFailed",
    "JobNotFound",
    "ProverClient",
    "ProverClientError",
    "RemoteProof",
]


class ProverClientError(Exception):
    """The prover service refused a request or answered unexpectedly; the message says why."""


class InvalidJobInputs(ProverClientError):
    """The service refused the inputs (400/422): the message names the offending value."""


class JobNotFound(ProverClientError):
    """No job with that id (404)."""


class JobFailed(ProverClientError):
    """The prover could not prove the job; the message is the prover's reason."""


@dataclass(frozen=True, slots=True)
class RemoteProof:
    """A proof fetched from the service (the ``ProofResult`` fields a client needs)."""

    job_id: str
    proof: bytes
    proof_json: dict[str, Any]
    public_signals: tuple[int, ...]


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


class ProverClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ProverClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code == 404:
            raise JobNotFound(_message(response))
        if response.status_code in (400, 422):
            raise InvalidJobInputs(_message(response))
        if response.status_code >= 400:
            raise ProverClientError(f"prover answered {response.status_code}: {_message(response)}")
        return response.json()

    def submit(self, inputs: dict[str, Any], label: str | None = None) -> str:
        """Queue ``inputs`` (ints may be given as ints or strings); returns the job id."""
        body: dict[str, Any] = {"inputs": _jsonable(inputs)}
        if label is not None:
            body["label"] = label
        return str(self._check(self.http.post("/v1/jobs", json=body))["id"])

    def get_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self.http.get(f"/v1/jobs/{job_id}"))
        return result

    def get_verification_key(self) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self.http.get("/v1/verification-key"))
        return result

    def get_proof(self, job_id: str) -> RemoteProof | None:
        """The job's proof once it is done, ``None`` while it is queued or proving, and
        ``JobFailed`` (with the prover's reason) when it failed -- one poll, never blocks."""
        job = self.get_job(job_id)
        if job["status"] == "failed":
            raise JobFailed(f"job {job_id} failed: {job['error']}")
        if job["status"] != "done":
            return None
        data = self._check(self.http.get(f"/v1/jobs/{job_id}/proof"))
        return RemoteProof(
            job_id,
            bytes.fromhex(data["proof_hex"]),
            data["proof"],
            tuple(int(v) for v in data["public_signals"]),
        )

    def wait_for_proof(self, job_id: str, timeout: float, poll: float = 0.5) -> RemoteProof:
        """Poll until the job is done; ``JobFailed`` (with the prover's reason) when it failed,
        ``TimeoutError`` when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            proof = self.get_proof(job_id)
            if proof is not None:
                return proof
            if time.monotonic() >= deadline:
                job = self.get_job(job_id)
                raise TimeoutError(
                    f"job {job_id} still {job['status']} after {timeout:g} s "
                    f"(queue position {job.get('queue_position')})"
                )
            time.sleep(poll)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # big ints survive any JSON parser as strings
    return value
