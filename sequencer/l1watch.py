"""The L1 deposit watcher: this rollup's deposit cells become L2 ``Deposit`` transactions.

A background thread polls the L1 every ``l1_poll_interval`` seconds:

1. ``RollupL1.scan`` of the blocks not scanned yet, up to the last one with at least
   ``deposit_confirmations`` confirmations, collects the rollup's deposit cells.
2. The live rollup cell says which deposits the L1 has forced (``pending_forced``): those come
   first, with the queue indices the L1 gave them; then the still-live deposit cells not yet
   credited, in L1 order, get the next indices -- the order the poster's SubmitBatch absorbs
   them in (``l2.client.bridge.derive_l1_deposits`` with ``pending=...``).
3. ``Sequencer.credit_deposits`` executes them on the soft state and commits each together with
   its ``deposits`` row (out point unique: catalogue B1, once across rescans and restarts).

Reorgs (catalogue B2): only deposits with ``deposit_confirmations`` confirmations are credited;
a reorg deeper than that is not rolled back from the soft state (see the module's limits in
docs).  L1 down (R6): the round fails, ``last_error`` says why (``/v1/status`` is
``degraded``), the next one comes after a capped exponential backoff; nothing changes.

Limits: a deposit cell refunded (cancel path) after being credited but before being absorbed
stalls the poster; a deposit forced on L1 after another one was soft-credited at the index the
force now claims stalls the watcher (both logged).  Deposits with a key the L2 refuses are
skipped (never absorbed by this sequencer).

Test-only fault ``ignore-deposits-of KEY`` (``SequencerConfig.fault``, devnet/test presets):
deposits naming that L2 key are never credited -- neither while pending nor once forced (a
forced one stops the plan there: the deposits queued behind it wait, as they must), so the
sequencer's next batches ignore the pending forced deposit and the L1 refuses them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from l1.ckb.types import OutPoint
from l1.core.scripts.rollup.layout import InvalidRollupEncoding
from l2.client.bridge import DepositSeen, RollupL1
from l2.tx import L1Deposit
from sequencer.poster import L1Access

if TYPE_CHECKING:
    from sequencer.service import Sequencer

__all__ = ["DepositWatcher"]

log = logging.getLogger("sequencer.l1watch")


class DepositWatcher:
    def __init__(
        self,
        seq: Sequencer,
        access: L1Access,
        *,
        confirmations: int,
        interval: float,
        max_backoff: float,
    ) -> None:
        self.seq = seq
        self.access = access
        self.rollup_id = access.info.rollup_id
        self.confirmations = confirmations
        self.interval = interval
        self.max_backoff = max_backoff
        #: Next L1 block to scan.
        self.cursor = access.info.start_block
        #: Deposit cells seen by the scans and not credited yet, in L1 order.
        self.seen: dict[OutPoint, DepositSeen] = {}
        self.last_error: str | None = None
        self.failures = 0
        #: Test-only fault: the L2 key whose deposits are never credited (censored).
        self.ignored_key: bytes | None = seq.settings.ignored_deposit_key()
        self._censored: set[tuple[OutPoint, bool]] = set()
        if self.ignored_key is not None:
            log.warning(
                "FAULT INJECTION (test only): deposits naming L2 key %s are NEVER credited, "
                "forced ones included: this sequencer censors them and the L1 will refuse its "
                "batches once one is forced",
                self.ignored_key.hex(),
            )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="l1watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
        self.access.close()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self.interval
            try:
                self.poll_once()
                self.last_error = None
                self.failures = 0
            except Exception as exc:  # R6: stay alive, say why, back off
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                delay = min(self.interval * 2 ** min(self.failures, 16), self.max_backoff)
                log.warning("L1 deposit poll failed (retry in %.1fs): %s", delay, self.last_error)
            self._wake.wait(delay)
            self._wake.clear()

    # ------------------------------------------------------------------ one round
    def poll_once(self) -> int:
        """Scan, plan and credit; returns how many deposits were credited."""
        l1 = self.access.get()
        tip = l1.client.get_tip_block_number()
        last = tip - self.confirmations + 1
        if last >= self.cursor:
            scan = l1.scan(self.rollup_id, self.cursor, last)
            for seen in scan.deposits:
                if seen.cell.out_point.serialize() not in self.seq.credited_deposits:
                    self.seen.setdefault(seen.cell.out_point, seen)
            self.cursor = last + 1
        try:
            rollup = l1.find_rollup_cell(self.rollup_id)
        except LookupError:
            log.info("the rollup cell is not committed yet")
            return 0
        plan = self.plan(rollup.state.next_deposit_index, rollup.state.pending_forced, l1)
        if not plan:
            return 0
        credited = self.seq.credit_deposits(plan)
        for out_point in list(self.seen):
            if out_point.serialize() in self.seq.credited_deposits:
                del self.seen[out_point]
        return credited

    def plan(
        self, l1_next_index: int, pending_forced: tuple[bytes, ...], l1: RollupL1
    ) -> list[tuple[L1Deposit, int]]:
        """The deposits to credit now, in queue order, as ``(deposit, L1 block)``."""
        credited = self.seq.credited_deposits
        profile = self.seq.config.profile
        plan: list[tuple[L1Deposit, int]] = []
        key_size = profile.public_key_size
        by_hash = {}
        for seen_deposit in self.seen.values():
            with contextlib.suppress(InvalidRollupEncoding):
                by_hash[seen_deposit.cell.deposit_hash(key_size)] = seen_deposit
        forced: set[OutPoint] = set()
        next_index = self.seq.executor.state.next_deposit_index
        for position, deposit_hash in enumerate(pending_forced):
            seen = by_hash.get(deposit_hash)
            if seen is None:
                # Already credited (we absorb it in the next batch), or not seen/confirmed yet.
                if position + l1_next_index >= next_index:
                    log.info("forced deposit %s is not confirmed here yet", deposit_hash.hex())
                    return plan
                continue
            cell = seen.cell
            if self._censors(seen, forced=True):
                return plan  # the fault: the forced deposit (and all queued behind it) wait
            forced.add(cell.out_point)
            index = l1_next_index + position
            plan.append(
                (
                    L1Deposit(
                        cell.out_point.serialize(),
                        index,
                        cell.args.l2_public_key(key_size),
                        cell.amount,
                    ),
                    seen.block_number,
                )
            )
            next_index = max(next_index, index + 1)
        for out_point, seen in list(self.seen.items()):
            if out_point in forced or out_point.serialize() in credited:
                continue
            if self._censors(seen, forced=False):
                continue
            try:
                # The deposit's 33-byte key slot holds a key of the rollup's profile, zero-padded.
                public_key = seen.cell.args.l2_public_key(key_size)
                profile.validate_public_key(public_key)
            except Exception as exc:
                log.warning("deposit %s skipped: the L2 refuses its key (%s)", out_point, exc)
                del self.seen[out_point]
                continue
            if l1.get_live_cell(out_point) is None:
                del self.seen[out_point]  # spent: refunded, or forced (then in pending_forced)
                continue
            cell = seen.cell
            plan.append(
                (
                    L1Deposit(out_point.serialize(), next_index, public_key, cell.amount),
                    seen.block_number,
                )
            )
            next_index += 1
        return plan

    def _censors(self, seen: DepositSeen, *, forced: bool) -> bool:
        """The test-only fault: this deposit names the ignored key (logged once per state)."""
        # The deposit's key slot is 33 bytes; a 32-byte key sits zero-padded in it.
        if self.ignored_key is None or seen.cell.args.public_key != self.ignored_key.ljust(
            33, b"\0"
        ):
            return False
        if (seen.cell.out_point, forced) not in self._censored:
            self._censored.add((seen.cell.out_point, forced))
            log.warning(
                "FAULT: not crediting %sdeposit 0x%s:%d (%d shannons) of the ignored L2 key",
                "FORCED " if forced else "",
                seen.cell.out_point.tx_hash.hex(),
                seen.cell.out_point.index,
                seen.cell.amount,
            )
        return True
