"""CKB's Complete Binary Merkle Tree (CBMT): roots and multi-leaf proofs (RFC 0006).

Why: a CKB header commits to its transactions with ``transactions_root = ckbhash(T || W)`` where
``T``/``W`` are CBMT roots of the tx hashes / witness hashes (RFC 0027 "transactions_root"), and
Godwoken-style rollups commit to L2 transactions and withdrawals the same way.  To match CKB bit for
bit this follows RFC 0006 and its implementation, the ``merkle-cbt`` crate 0.3.1
(``nervosnetwork/merkle-tree`` ``src/merkle_tree.rs``), with the merge function CKB plugs into it:
``merge(left, right) = ckbhash(left || right)`` over 32-byte items (``ckb/util/types/src/utilities/
merkle_tree.rs``).

Layout (RFC 0006 "Tree Struct"): a tree of ``n`` leaves is an array of ``2n - 1`` nodes, root first;
leaf ``i`` is node ``i + n - 1``; ``parent(i) = (i - 1) // 2``; ``sibling(i) = ((i + 1) ^ 1) - 1``;
children ``2i + 1, 2i + 2``; odd ``i`` is a left child.  An empty tree's root is 32 zero bytes and a
one-leaf tree's root is the leaf itself (no hashing).

Proofs (RFC 0006 "Merkle Proof", as merkle-cbt builds them): ``indices`` are TREE indices of the
proven leaves, ordered by ascending leaf value (so a verifier can pair them with the leaves by
sorting the leaves); ``lemmas`` are the sibling nodes that cannot be computed, in the order the
bottom-up queue walk (largest index first) consumes them.

Deliberate strictness versus merkle-cbt (which only matters for hand-crafted proofs): when a lemma
is needed but none is left, merkle-cbt silently drops that branch and can still return a root that
does not depend on the dropped leaf; here such a proof is rejected.  Duplicate indices are rejected
too, and leaves and lemmas must be 32 bytes like CKB's ``Byte32``.

The tree code is generic over the merge function (``_build_nodes``, ``_merkle_root``,
``_build_proof``, ``_proof_root``) so the tests can replay merkle-cbt's own vectors, which use
``merge(l, r) = r - l`` over ``i32``.  Pure functions, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from l1.ckb.hashing import ckbhash

__all__ = [
    "CbmtProof",
    "build_cbmt_proof",
    "cbmt_nodes",
    "cbmt_root",
    "compute_cbmt_proof_root",
    "merge_ckb",
    "retrieve_cbmt_leaves",
    "verify_cbmt_proof",
]

_T = TypeVar("_T", int, bytes)

HASH_LEN: Final = 32
EMPTY_ROOT: Final = bytes(HASH_LEN)
_U32_LIMIT: Final = 1 << 32


def merge_ckb(left: bytes, right: bytes) -> bytes:
    """CKB's CBMT merge: ``ckbhash(left || right)`` (RFC 0027 Appendix "CKB Merkle Tree")."""
    return ckbhash(left + right)


# --------------------------------------------------------------------------------------------
# Generic tree algorithms (merkle-cbt 0.3.1 semantics, parameterised by ``merge``)
# --------------------------------------------------------------------------------------------


def _sibling(index: int) -> int:
    return ((index + 1) ^ 1) - 1 if index else 0


def _parent(index: int) -> int:
    return (index - 1) >> 1 if index else 0


def _build_nodes(leaves: Sequence[_T], merge: Callable[[_T, _T], _T]) -> list[_T]:
    """Return the full ``2n - 1`` node array (RFC 0006 "Tree Struct"); ``[]`` for no leaves."""
    n = len(leaves)
    if n == 0:
        return []
    # The first n - 1 slots are placeholders, overwritten bottom-up (children come after parents).
    nodes: list[_T] = [leaves[0]] * (n - 1)
    nodes.extend(leaves)
    for i in range(n - 2, -1, -1):
        nodes[i] = merge(nodes[2 * i + 1], nodes[2 * i + 2])
    return nodes


def _merkle_root(leaves: Sequence[_T], merge: Callable[[_T, _T], _T], empty: _T) -> _T:
    """Return the root without materialising the tree, as merkle-cbt's ``build_merkle_root``.

    Pairs are merged from the right end; an odd leftover (``leaves[0]``) goes to the queue front;
    then the front two are merged (front = right child) until one node is left.  This visits the
    nodes level by level from the right, so it equals ``_build_nodes(leaves, merge)[0]``.
    """
    n = len(leaves)
    if n == 0:
        return empty
    queue: deque[_T] = deque()
    for i in range(n - 2, -1, -2):
        queue.append(merge(leaves[i], leaves[i + 1]))
    if n & 1:
        queue.appendleft(leaves[0])
    while len(queue) > 1:
        right = queue.popleft()
        left = queue.popleft()
        queue.append(merge(left, right))
    return queue[0]


def _build_proof(
    nodes: Sequence[_T], leaf_indices: Sequence[int]
) -> tuple[tuple[int, ...], tuple[_T, ...]]:
    """Return ``(tree indices, lemmas)`` proving the leaves at ``leaf_indices`` (RFC 0006).

    Raises ``ValueError`` for an empty tree, no indices, a duplicate or an out-of-range index
    (merkle-cbt returns ``None`` for the first three cases it checks and builds a useless proof
    for duplicates).
    """
    if not nodes:
        raise ValueError("cannot build a proof for an empty tree")
    if not leaf_indices:
        raise ValueError("no leaf indices to prove")
    leaves_count = (len(nodes) >> 1) + 1
    for i in leaf_indices:
        if not 0 <= i < leaves_count:
            raise ValueError(f"leaf index {i} out of range for {leaves_count} leaves")
    if len(set(leaf_indices)) != len(leaf_indices):
        raise ValueError("duplicate leaf indices")

    tree_indices = sorted((i + leaves_count - 1 for i in leaf_indices), reverse=True)
    lemmas: list[_T] = []
    queue = deque(tree_indices)
    while queue:
        index = queue.popleft()
        if index == 0:  # only reachable when the single leaf is the root
            break
        sibling = _sibling(index)
        if queue and queue[0] == sibling:
            queue.popleft()
        else:
            lemmas.append(nodes[sibling])
        parent = _parent(index)
        if parent != 0:
            queue.append(parent)
    # Stable sort of the descending list by leaf value, exactly like merkle-cbt's sort_by_key.
    tree_indices.sort(key=lambda i: nodes[i])
    return tuple(tree_indices), tuple(lemmas)


def _proof_root(
    indices: Sequence[int],
    lemmas: Sequence[_T],
    leaves: Sequence[_T],
    merge: Callable[[_T, _T], _T],
) -> _T | None:
    """Recompute the root from a proof, or ``None`` if the proof is malformed (RFC 0006).

    ``leaves`` may come in any order: as in merkle-cbt, they are sorted and paired with
    ``indices`` (which are ordered by leaf value).  Every lemma and every leaf must be used.
    """
    if not leaves or len(leaves) != len(indices) or len(set(indices)) != len(indices):
        return None
    queue: deque[tuple[int, _T]] = deque(
        sorted(zip(indices, sorted(leaves), strict=True), key=lambda p: p[0], reverse=True)
    )
    lemma_iter = iter(lemmas)
    while queue:
        index, node = queue.popleft()
        if index == 0:
            if queue or next(lemma_iter, None) is not None:
                return None
            return node
        sibling_index = _sibling(index)
        if queue and queue[0][0] == sibling_index:
            sibling = queue.popleft()[1]
        else:
            lemma = next(lemma_iter, None)
            if lemma is None:
                return None  # merkle-cbt would drop this branch; a sound verifier must not
            sibling = lemma
        if index & 1:  # left child
            queue.append((_parent(index), merge(node, sibling)))
        else:
            queue.append((_parent(index), merge(sibling, node)))
    return None


# --------------------------------------------------------------------------------------------
# Public CKB (ckbhash, 32-byte) API
# --------------------------------------------------------------------------------------------


def _check_hashes(items: Sequence[bytes], what: str) -> None:
    for item in items:
        if not isinstance(item, bytes) or len(item) != HASH_LEN:
            raise ValueError(f"every {what} must be {HASH_LEN} bytes")


@dataclass(frozen=True, slots=True)
class CbmtProof:
    """A CBMT multi-leaf proof as CKB/merkle-cbt encode it (RFC 0006 "Proof Structure").

    ``indices``: tree indices (``leaf_index + n - 1``) of the proven leaves, ordered by ascending
    leaf value; ``lemmas``: 32-byte sibling nodes in the order verification consumes them.
    """

    indices: tuple[int, ...]
    lemmas: tuple[bytes, ...]

    def __post_init__(self) -> None:
        for i in self.indices:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < _U32_LIMIT:
                raise ValueError("proof indices must be u32 integers")
        _check_hashes(self.lemmas, "lemma")


def cbmt_nodes(leaves: Sequence[bytes]) -> list[bytes]:
    """Return the whole ``2n - 1`` node array of CKB's CBMT over ``leaves`` (root first)."""
    _check_hashes(leaves, "leaf")
    return _build_nodes(leaves, merge_ckb)


def cbmt_root(leaves: Sequence[bytes]) -> bytes:
    """Return CKB's CBMT root of 32-byte ``leaves`` (``merkle_root`` in ckb ``merkle_tree.rs``).

    Empty → 32 zero bytes; one leaf → that leaf; otherwise merges with ``ckbhash(l || r)``.
    """
    _check_hashes(leaves, "leaf")
    return _merkle_root(leaves, merge_ckb, EMPTY_ROOT)


def build_cbmt_proof(leaves: Sequence[bytes], leaf_indices: Sequence[int]) -> CbmtProof:
    """Build a proof that ``leaves[i]`` for each ``i`` in ``leaf_indices`` are in the tree.

    Raises ``ValueError`` if there are no leaves or indices, or an index is out of range or
    repeated.
    """
    _check_hashes(leaves, "leaf")
    indices, lemmas = _build_proof(_build_nodes(leaves, merge_ckb), leaf_indices)
    return CbmtProof(indices, lemmas)


def compute_cbmt_proof_root(proof: CbmtProof, leaves: Sequence[bytes]) -> bytes | None:
    """Return the root implied by ``proof`` for the proven ``leaves`` (any order), or ``None``.

    ``None`` means the proof is malformed: wrong number of leaves, duplicate indices, a missing or
    unused lemma, or a leaf that is not 32 bytes.
    """
    if any(not isinstance(leaf, bytes) or len(leaf) != HASH_LEN for leaf in leaves):
        return None
    return _proof_root(proof.indices, proof.lemmas, leaves, merge_ckb)


def verify_cbmt_proof(proof: CbmtProof, root: bytes, leaves: Sequence[bytes]) -> bool:
    """True iff ``proof`` shows that ``leaves`` (any order) are in the CBMT with ``root``."""
    computed = compute_cbmt_proof_root(proof, leaves)
    return computed is not None and computed == root


def retrieve_cbmt_leaves(leaves: Sequence[bytes], proof: CbmtProof) -> tuple[bytes, ...] | None:
    """Return the leaves of the full list that ``proof.indices`` point at, in index order.

    As merkle-cbt 0.3.1 ``CBMT::retrieve_leaves``: ``None`` if there are no leaves or no indices,
    or an index is not a leaf position of a tree with ``len(leaves)`` leaves.  Lets a verifier that
    knows the whole list (e.g. a block's tx hashes) pick the leaves a proof is about.
    """
    n = len(leaves)
    if n == 0 or not proof.indices:
        return None
    if not all(n - 1 <= i < 2 * n - 1 for i in proof.indices):
        return None
    return tuple(leaves[i + 1 - n] for i in proof.indices)
