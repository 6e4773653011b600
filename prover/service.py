"""The prover service: a job queue in front of the engine.

The HTTP API only validates, stores and reads; one worker thread proves the queued jobs in
submission order (FIFO), so a proof taking minutes never blocks the API.  A job is stored before
its id is returned; after a crash, ``open_prover`` puts the interrupted job back in the queue,
so every acknowledged job is eventually proved (or fails with the reason).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from prometheus_client import CollectorRegistry, Histogram

from prover.artifacts import Artifacts, SetupResult, load_artifacts, run_setup
from prover.config import ProverConfig
from prover.engine import compute_inputs_id, normalize_inputs, prove
from prover.errors import JobNotDone, JobNotFound, ProverError, ProverStartupError
from prover.store import JobRecord, JobStore
from sequencer.crash import DataDirLock as SequencerDataDirLock

__all__ = ["DataDirLock", "ProverService", "job_to_json", "open_prover"]

log = logging.getLogger("prover")

#: Longest label kept with a job.
MAX_LABEL: Final = 200
#: Seconds the worker sleeps when the queue is empty (a submission wakes it at once).
IDLE_WAIT: Final = 5.0
PROVING_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class DataDirLock(SequencerDataDirLock):
    """The sequencer's exclusive ``flock``, with the prover's name: two provers on one data dir
    would prove the same jobs twice and race on their rows."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, role="prover", error=ProverStartupError)


def job_to_json(
    job: JobRecord, queue_position: int | None, expected_s: float | None, now: float
) -> dict[str, Any]:
    """The ``GET /v1/jobs/{id}`` shape."""
    if job.status == "proving" and job.started_at is not None:
        elapsed: float | None = now - job.started_at
    else:
        elapsed = job.elapsed_s
    return {
        "id": job.id,
        "label": job.label,
        "status": job.status,
        "queue_position": queue_position,
        "progress": {
            "stage": job.status,
            "elapsed_s": None if elapsed is None else round(elapsed, 3),
            "expected_s": None if expected_s is None else round(expected_s, 3),
        },
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


class ProverService:
    """The queue, the worker thread and the read views the app serves."""

    def __init__(
        self,
        artifacts: Artifacts,
        store: JobStore,
        *,
        on_close: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.artifacts = artifacts
        self.store = store
        self._on_close = list(on_close)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.proving_seconds = Histogram(
            "rollcourt_prover_proving_seconds",
            "Seconds to prove one job (witness, proof, verification)",
            buckets=PROVING_BUCKETS,
            registry=self.registry,
        )

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        requeued = self.store.requeue_interrupted()
        if requeued:
            log.warning("re-queued %d job(s) interrupted by a previous stop", requeued)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prover-worker", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop taking jobs; a proof in flight is abandoned (re-queued at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.store.close()
        for callback in reversed(self._on_close):
            callback()
        self._on_close.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.work_once()
            except Exception:  # the worker must outlive any one failure (e.g. the database)
                log.exception("prover worker failed; retrying")
                worked = False
                self._stop.wait(1.0)
            if not worked:
                self._wake.wait(IDLE_WAIT)
                self._wake.clear()

    def work_once(self) -> bool:
        """Prove the oldest queued job, if any; True when one was taken."""
        job = self.store.get_next_queued()
        if job is None:
            return False
        self.store.mark_proving(job.id)
        log.info("proving job %s%s", job.id[:16], f" ({job.label})" if job.label else "")
        try:
            result = prove(self.artifacts, job.inputs)
        except ProverError as exc:
            log.warning("job %s failed: %s", job.id[:16], exc)
            self.store.mark_failed(job.id, str(exc))
            return True
        except Exception as exc:  # an engine bug must fail the job, not the worker
            log.exception("job %s: unexpected error", job.id[:16])
            self.store.mark_failed(job.id, f"internal error: {type(exc).__name__}: {exc}")
            return True
        if self._stop.is_set():  # closing: leave it to be proved again rather than half-record
            return True
        self.proving_seconds.observe(result.elapsed_s)
        encoded = result.to_json()
        self.store.mark_done(
            job.id, result.proof, encoded["proof"], encoded["public_signals"], result.elapsed_s
        )
        log.info("job %s done in %.2f s", job.id[:16], result.elapsed_s)
        return True

    # ------------------------------------------------------------------ the API's calls
    def submit(self, inputs: Any, label: str | None) -> tuple[dict[str, Any], bool]:
        """Validate and queue; ``(job JSON, created)``.  The same inputs are the same job."""
        values = normalize_inputs(inputs, self.artifacts.manifest.get("input_signals"))
        job_id = compute_inputs_id(self.artifacts.circuit_hash, values)
        canonical = {k: _to_strings(v) for k, v in values.items()}
        job, created = self.store.add_job(
            job_id, canonical, None if label is None else label[:MAX_LABEL]
        )
        if created:
            self._wake.set()
        return self.describe(job), created

    def describe(self, job: JobRecord) -> dict[str, Any]:
        position = None
        if job.status == "queued":
            position = self.store.count_queued_before(job.seq) + 1
        return job_to_json(job, position, self.store.get_mean_elapsed(), time.time())

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self.describe(self._find(job_id))

    def _find(self, job_id: str) -> JobRecord:
        job = self.store.get_job(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id}")
        return job

    def get_proof(self, job_id: str) -> dict[str, Any]:
        job = self._find(job_id)
        if job.status == "failed":
            raise JobNotDone(f"job {job_id} failed: {job.error}")
        if job.status != "done" or job.proof is None:
            raise JobNotDone(f"job {job_id} is {job.status}; no proof yet")
        return {
            "proof": job.proof_json,
            "public_signals": job.public_signals,
            "proof_hex": job.proof.hex(),
        }

    def list_jobs(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        return [self.describe(job) for job in self.store.get_jobs(status, limit)]

    def get_health(self) -> dict[str, Any]:
        manifest = self.artifacts.manifest
        counts = self.store.count_by_status()
        return {
            "status": "ok" if self._thread is not None and self._thread.is_alive() else "degraded",
            "preset": self.artifacts.spec.name,
            "template": self.artifacts.spec.template,
            "params": list(self.artifacts.spec.params),
            "circuit_hash": self.artifacts.circuit_hash,
            "verifying_key_hash": manifest.get("verifying_key_hash"),
            "setup_kind": manifest.get("setup_kind"),
            "queue_length": counts["queued"] + counts["proving"],
            "jobs": counts,
        }


def _to_strings(value: Any) -> Any:
    return [_to_strings(v) for v in value] if isinstance(value, list) else str(value)


def open_prover(
    config: ProverConfig, *, progress: Callable[[str], None] | None = None
) -> ProverService:
    """The lock, the artifacts (set up first with ``setup_if_missing``) and the store."""
    spec = config.get_spec()
    lock = DataDirLock(config.data_dir / "prover" / "LOCK").acquire()
    try:
        if config.setup_if_missing:
            result: SetupResult = run_setup(spec, config.data_dir, progress=progress)
            artifacts = result.artifacts
            if not result.cache_hit:
                log.info("set up %s in %s", spec.name, artifacts.directory)
        else:
            artifacts = load_artifacts(spec, config.data_dir)
        _ = artifacts.proving_key  # read it now: an unreadable key refuses the start
        store = JobStore(config.resolved_database_url())
    except BaseException:
        lock.release()
        raise
    if artifacts.is_single_party:
        log.warning(
            "circuit %s: %s (import a ceremony zkey for anything real)",
            spec.name,
            artifacts.manifest.get("setup_kind"),
        )
    return ProverService(artifacts, store, on_close=[lock.release])
