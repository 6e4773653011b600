"""A fixed-depth sparse Merkle tree over account indices (DESIGN.md §3 "Accounts").

Leaf ``i`` (``0 <= i < 2**depth``) sits at the path given by the bits of ``i``, least significant
bit first from the bottom: at height ``h`` the node's position is ``i >> h`` and it is a left
child when that position is even.  An absent leaf holds the profile's empty leaf hash, and an
empty subtree of height ``h`` hashes to the precomputed ``profile.empty_subtree_hashes[h]``, so
the tree is defined for all ``2**depth`` leaves while storing only non-empty nodes in a dict:
an update costs ``depth`` hashes and memory grows with the number of accounts, not the tree.

Proofs list the ``depth`` siblings bottom-up.  Absent leaves have proofs too (they prove the
empty leaf hash), which is what a one-step proof of "this deposit creates account ``i``" or
"account ``i`` does not exist" needs.  A proof is canonical: exactly ``depth`` siblings of 32
bytes and an index below ``2**depth``; anything else does not verify (catalogue B6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from l2.errors import InvalidProof
from l2.profile import Profile

__all__ = [
    "MerkleProof",
    "SparseMerkleTree",
    "compute_root",
    "compute_root_from_proof",
    "verify_proof",
]

_HASH_SIZE = 32
_MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class MerkleProof:
    """The siblings of leaf ``index``, bottom-up (``siblings[h]`` is at height ``h``)."""

    index: int
    siblings: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not 0 <= self.index < 1 << _MAX_DEPTH:
            raise InvalidProof(f"leaf index {self.index} is not a u32")
        if len(self.siblings) > _MAX_DEPTH:
            raise InvalidProof(f"at most {_MAX_DEPTH} siblings, got {len(self.siblings)}")
        for sibling in self.siblings:
            if not isinstance(sibling, bytes) or len(sibling) != _HASH_SIZE:
                raise InvalidProof("every sibling is a 32-byte hash")

    @property
    def depth(self) -> int:
        return len(self.siblings)


def compute_root_from_proof(proof: MerkleProof, leaf_hash: bytes, profile: Profile) -> bytes:
    """The root of the tree in which leaf ``proof.index`` is ``leaf_hash``.

    Raises ``InvalidProof`` if the index does not fit the proof's depth.
    """
    if proof.index >> proof.depth:
        raise InvalidProof(f"leaf index {proof.index} is outside a tree of depth {proof.depth}")
    node = leaf_hash
    position = proof.index
    for sibling in proof.siblings:
        node = (
            profile.hash_node(node, sibling)
            if position & 1 == 0
            else profile.hash_node(sibling, node)
        )
        position >>= 1
    return node


def verify_proof(
    proof: MerkleProof, leaf_hash: bytes, root: bytes, profile: Profile, depth: int
) -> bool:
    """True iff ``proof`` shows leaf ``proof.index`` = ``leaf_hash`` in the depth-``depth`` tree
    with ``root``.  Never raises: a proof of another depth or index range is simply false."""
    if proof.depth != depth or proof.index >> depth:
        return False
    return compute_root_from_proof(proof, leaf_hash, profile) == root


def compute_root(leaves: Mapping[int, bytes], depth: int, profile: Profile) -> bytes:
    """The root of the depth-``depth`` tree whose non-empty leaves are ``leaves`` (from scratch,
    level by level over the occupied positions only: ``O(len(leaves) * depth)`` hashes)."""
    return SparseMerkleTree.from_leaves(depth, profile, leaves).get_root()


class SparseMerkleTree:
    """The mutable tree: non-empty nodes keyed by ``(height, position)``, the rest implied."""

    __slots__ = ("_empty", "_nodes", "depth", "profile")

    def __init__(
        self, depth: int, profile: Profile, nodes: dict[tuple[int, int], bytes] | None = None
    ) -> None:
        if not 1 <= depth <= _MAX_DEPTH:
            raise InvalidProof(f"tree depth must be in 1..{_MAX_DEPTH}, got {depth}")
        self.depth = depth
        self.profile = profile
        self._empty = profile.empty_subtree_hashes
        self._nodes: dict[tuple[int, int], bytes] = {} if nodes is None else nodes

    @classmethod
    def from_leaves(
        cls, depth: int, profile: Profile, leaves: Mapping[int, bytes]
    ) -> SparseMerkleTree:
        """Build a tree from its non-empty leaves level by level (``O(n * depth)`` hashes, each
        node once), e.g. for genesis or a decoded snapshot."""
        tree = cls(depth, profile)
        empty = tree._empty
        nodes = tree._nodes
        level: dict[int, bytes] = {}
        for index, leaf in leaves.items():
            tree._check_index(index)
            if len(leaf) != _HASH_SIZE:
                raise InvalidProof("a leaf hash is 32 bytes")
            if leaf != empty[0]:
                level[index] = leaf
        for height in range(depth + 1):
            for position, node in level.items():
                nodes[(height, position)] = node
            if height == depth:
                break
            parents: dict[int, bytes] = {}
            for position in {p >> 1 for p in level}:
                left = level.get(position << 1, empty[height])
                right = level.get((position << 1) | 1, empty[height])
                parent = profile.hash_node(left, right)
                if parent != empty[height + 1]:
                    parents[position] = parent
            level = parents
        return tree

    def copy(self) -> SparseMerkleTree:
        """An independent tree; the node values are immutable bytes, so a dict copy suffices."""
        return SparseMerkleTree(self.depth, self.profile, dict(self._nodes))

    def _check_index(self, index: int) -> None:
        if isinstance(index, bool) or not 0 <= index < 1 << self.depth:
            raise InvalidProof(f"leaf index {index} is outside a tree of depth {self.depth}")

    def get_node(self, height: int, position: int) -> bytes:
        return self._nodes.get((height, position), self._empty[height])

    def get_leaf(self, index: int) -> bytes:
        self._check_index(index)
        return self.get_node(0, index)

    def get_root(self) -> bytes:
        return self.get_node(self.depth, 0)

    def get_proof(self, index: int) -> MerkleProof:
        """The proof of leaf ``index``, present or absent."""
        self._check_index(index)
        return MerkleProof(
            index,
            tuple(self.get_node(height, (index >> height) ^ 1) for height in range(self.depth)),
        )

    def get_node_count(self) -> int:
        """Stored (non-empty) nodes, for measurements."""
        return len(self._nodes)

    def apply_leaf(self, index: int, leaf_hash: bytes) -> None:
        """Set leaf ``index`` to ``leaf_hash`` and rehash its path (``depth`` hashes).

        Nodes equal to the empty-subtree hash of their height are removed rather than stored, so
        the dict holds exactly the non-empty nodes whatever the update order.
        """
        self._check_index(index)
        if len(leaf_hash) != _HASH_SIZE:
            raise InvalidProof("a leaf hash is 32 bytes")
        nodes = self._nodes
        empty = self._empty
        hash_node = self.profile.hash_node
        node = leaf_hash
        position = index
        for height in range(self.depth):
            if node == empty[height]:
                nodes.pop((height, position), None)
            else:
                nodes[(height, position)] = node
            sibling = nodes.get((height, position ^ 1), empty[height])
            node = hash_node(node, sibling) if position & 1 == 0 else hash_node(sibling, node)
            position >>= 1
        if node == empty[self.depth]:
            nodes.pop((self.depth, 0), None)
        else:
            nodes[(self.depth, 0)] = node
