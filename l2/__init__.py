"""The rollup protocol, pure (DESIGN.md §3): no I/O, no clocks, no environment.

Modules, bottom-up: ``errors`` (one exception tree), ``preset`` and ``config`` (parameters),
``profile`` (hash and signature scheme), ``smt`` (accounts tree), ``state``, ``tx`` (transactions,
records, signing), ``stf`` (state transition), ``batch`` (batch data, blobs, commitment) and
``derive`` (state from L1 data).  Byte layouts and policies: docs/protocol.md.
"""
