"""Validity mode: getting each sealed batch proven before it is posted (docs/validity.md).

The sequencer never proves anything itself -- proving takes seconds to minutes and must not
block soft confirmations.  When the poster is about to post a sealed batch of a validity rollup
it asks ``BatchProver.get_proof``:

- the first time, the batch's witness is built from the store (the pre-state is the previous
  batch's post-state, or the genesis; deposits from the store's queue), submitted to the prover
  service (``python -m prover``), and the job id is kept in the store's meta under the batch
  number *and* the commitment hash -- a re-sequenced batch with the same number never picks up
  a proof of its predecessor;
- later calls poll the job once and return ``None`` until it is done (the poster posts nothing
  meanwhile; batches stay in order);
- a finished proof is checked against the public input the L1 will recompute from the batch
  (``l2.validity.compute_batch_input``) before it is used.

The prover deduplicates identical inputs, so a sequencer that crashes after submitting and
submits again gets the same job (and a prover that crashed re-proves its queued jobs).
"""

from __future__ import annotations

import logging
import time

from l2.client.prover import JobFailed, ProverClient
from l2.config import RollupConfig
from l2.errors import UnprovableBatch
from l2.state import L2State
from l2.validity import compute_batch_input
from l2.witness import compute_batch_witness
from sequencer.batcher import SealedBatch
from sequencer.store import Store

__all__ = ["BatchProver", "BatchUnprovable"]

log = logging.getLogger("sequencer.proving")


class BatchUnprovable(RuntimeError):
    """The prover refused a sealed batch (a bug: the sequencer admits only valid transactions,
    and the circuit enforces the STF's rules); the message carries the prover's reason."""


def _meta_key(batch_number: int) -> str:
    return f"proof_job:{batch_number}"


class BatchProver:
    """Submits witnesses of sealed batches to the prover service and collects their proofs."""

    def __init__(
        self,
        client: ProverClient,
        store: Store,
        config: RollupConfig,
        genesis: L2State,
        *,
        timeout: float,
    ) -> None:
        self.client = client
        self.store = store
        self.config = config
        self.genesis = genesis
        self.timeout = timeout
        #: When each batch's job was first seen pending (for the timeout warning).
        self._waiting_since: dict[int, float] = {}
        self.proofs_received = 0

    def get_proof(self, batch: SealedBatch) -> bytes | None:
        """The 256-byte proof of ``batch`` once the prover has it, else ``None`` (submitting
        its witness the first time).  Raises ``BatchUnprovable`` if the prover refused it."""
        job_id = self._get_job_id(batch)
        if job_id is None:
            job_id = self._submit(batch)
        try:
            proof = self.client.get_proof(job_id)
        except JobFailed as exc:
            raise BatchUnprovable(f"batch {batch.number} cannot be proven: {exc}") from None
        if proof is None:
            since = self._waiting_since.setdefault(batch.number, time.monotonic())
            if time.monotonic() - since > self.timeout:
                log.warning(
                    "batch %d has waited %.0f s for its proof (job %s)",
                    batch.number,
                    time.monotonic() - since,
                    job_id,
                )
            return None
        self._waiting_since.pop(batch.number, None)
        expected = compute_batch_input(
            batch.commitment.prev_root, batch.commitment.new_root, list(batch.records), self.config
        )
        if proof.public_signals != (expected,):
            raise BatchUnprovable(
                f"batch {batch.number}: the prover's proof is for public input "
                f"{proof.public_signals}, the L1 will recompute {expected}"
            )
        self.proofs_received += 1
        return proof.proof

    def _get_job_id(self, batch: SealedBatch) -> str | None:
        with self.store.read() as conn:
            raw = self.store.get_meta(conn, _meta_key(batch.number))
        if raw is None:
            return None
        commitment_hash, job_id = raw.split(":", 1)
        return job_id if commitment_hash == batch.commitment.compute_hash().hex() else None

    def _pre_state(self, batch: SealedBatch) -> L2State:
        if batch.number == 0:
            return self.genesis.copy()
        with self.store.read() as conn:
            previous = self.store.get_batch(conn, batch.number - 1)
        if previous is None:
            raise BatchUnprovable(f"batch {batch.number - 1} is not in the store")
        state = L2State.decode(previous.state, self.config.profile)
        if state.get_root() != batch.commitment.prev_root:
            raise BatchUnprovable(
                f"batch {batch.number} builds on 0x{batch.commitment.prev_root.hex()}, the stored "
                f"post-state of batch {batch.number - 1} is 0x{state.get_root().hex()}"
            )
        return state

    def _submit(self, batch: SealedBatch) -> str:
        with self.store.read() as conn:
            deposits = {d.deposit_index: d for d in self.store.load_deposits(conn)}
        try:
            witness = compute_batch_witness(
                self._pre_state(batch), list(batch.records), self.config, deposits
            )
        except UnprovableBatch as exc:
            raise BatchUnprovable(f"batch {batch.number}: {exc}") from None
        if witness.post_root != batch.commitment.new_root:
            raise BatchUnprovable(
                f"batch {batch.number}: its witness ends at 0x{witness.post_root.hex()}, the "
                f"commitment at 0x{batch.commitment.new_root.hex()}"
            )
        job_id = self.client.submit(witness.inputs, label=f"batch {batch.number}")
        with self.store.begin() as conn:
            self.store.set_meta(
                conn,
                _meta_key(batch.number),
                f"{batch.commitment.compute_hash().hex()}:{job_id}",
            )
        log.info("batch %d: witness submitted to the prover (job %s)", batch.number, job_id)
        return job_id
