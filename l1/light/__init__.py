"""A light client for the L1: follows headers, samples blob cells for data availability.

``headers`` checks and chooses headers (no transaction execution), ``proofs`` binds a block's blob
versioned hashes to its header, ``sampler`` asks full nodes for random cells and verifies them,
``service`` runs the follow-and-sample loop, ``app`` serves its API (``python -m l1 light``).
State is kept in memory only.
"""
