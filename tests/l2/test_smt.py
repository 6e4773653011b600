"""The sparse Merkle tree against a naive full tree (catalogue T8), absent-leaf proofs and
canonical proofs (catalogue B6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.errors import InvalidProof
from l2.profile import OPTIMISTIC
from l2.smt import (
    MerkleProof,
    SparseMerkleTree,
    compute_root,
    compute_root_from_proof,
    verify_proof,
)

H = OPTIMISTIC
EMPTY = H.empty_leaf_hash


def naive_levels(leaves: dict[int, bytes], depth: int) -> list[list[bytes]]:
    """Every node of the full tree, level 0 = the 2**depth leaves."""
    level = [leaves.get(i, EMPTY) for i in range(1 << depth)]
    levels = [level]
    while len(level) > 1:
        level = [H.hash_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def naive_proof(levels: list[list[bytes]], index: int) -> tuple[bytes, ...]:
    return tuple(levels[h][(index >> h) ^ 1] for h in range(len(levels) - 1))


leaf_hashes = st.binary(min_size=32, max_size=32).filter(lambda b: b != EMPTY)


@st.composite
def trees(draw):
    depth = draw(st.integers(1, 6))
    updates = draw(
        st.lists(
            st.tuples(st.integers(0, (1 << depth) - 1), st.one_of(leaf_hashes, st.just(EMPTY))),
            max_size=40,
        )
    )
    return depth, updates


@settings(max_examples=60, deadline=None)
@given(trees())
def test_sparse_tree_equals_naive_full_tree(case):
    depth, updates = case
    tree = SparseMerkleTree(depth, H)
    leaves: dict[int, bytes] = {}
    for index, leaf in updates:
        tree.apply_leaf(index, leaf)
        leaves[index] = leaf
    levels = naive_levels(leaves, depth)
    root = levels[-1][0]
    assert tree.get_root() == root
    assert compute_root(leaves, depth, H) == root
    assert SparseMerkleTree.from_leaves(depth, H, leaves).get_root() == root
    non_empty = {i: v for i, v in leaves.items() if v != EMPTY}
    rebuilt = SparseMerkleTree.from_leaves(depth, H, non_empty)
    # Only non-empty nodes are stored, whatever the update order (deletions included).
    assert tree.get_node_count() == rebuilt.get_node_count()
    stored = sum(
        1 for h, level in enumerate(levels) for node in level if node != H.empty_subtree_hashes[h]
    )
    assert tree.get_node_count() == stored
    for index in range(1 << depth):
        proof = tree.get_proof(index)
        assert proof.siblings == naive_proof(levels, index)
        leaf = leaves.get(index, EMPTY)
        assert tree.get_leaf(index) == leaf
        assert compute_root_from_proof(proof, leaf, H) == root
        assert verify_proof(proof, leaf, root, H, depth)


def test_empty_tree_root_is_the_precomputed_empty_hash():
    for depth in (1, 16, 24, 32):
        assert SparseMerkleTree(depth, H).get_root() == H.empty_subtree_hashes[depth]


def test_absent_leaf_proof_in_a_populated_depth_16_tree():
    tree = SparseMerkleTree(16, H)
    for index in (0, 1, 2, 777, 65535):
        tree.apply_leaf(index, H.hash_leaf(b"\x02" * 33, index, 0))
    root = tree.get_root()
    for absent in (3, 778, 40000):
        proof = tree.get_proof(absent)
        assert verify_proof(proof, EMPTY, root, H, 16)
        assert not verify_proof(proof, H.hash_leaf(b"\x02" * 33, absent, 0), root, H, 16)
    present = tree.get_proof(777)
    assert not verify_proof(present, EMPTY, root, H, 16)


def test_only_the_canonical_proof_verifies():
    """B6: flip any byte, drop or add a sibling, move the index -> false."""
    tree = SparseMerkleTree(8, H)
    for index in range(0, 200, 7):
        tree.apply_leaf(index, H.hash_leaf(b"\x03" * 33, index, 1))
    root = tree.get_root()
    leaf = tree.get_leaf(21)
    proof = tree.get_proof(21)
    assert verify_proof(proof, leaf, root, H, 8)
    for position in range(8):
        for byte in (0, 31):
            siblings = list(proof.siblings)
            flipped = bytearray(siblings[position])
            flipped[byte] ^= 1
            siblings[position] = bytes(flipped)
            assert not verify_proof(MerkleProof(21, tuple(siblings)), leaf, root, H, 8)
    assert not verify_proof(MerkleProof(21, proof.siblings[:-1]), leaf, root, H, 8)
    assert not verify_proof(MerkleProof(21, (*proof.siblings, EMPTY)), leaf, root, H, 8)
    assert not verify_proof(MerkleProof(21 + 256, proof.siblings), leaf, root, H, 8)
    assert not verify_proof(MerkleProof(28, proof.siblings), leaf, root, H, 8)
    assert not verify_proof(proof, leaf, root, H, 9)


def test_proof_shape_errors():
    with pytest.raises(InvalidProof, match="32-byte"):
        MerkleProof(0, (b"short",))
    with pytest.raises(InvalidProof, match="u32"):
        MerkleProof(-1, ())
    with pytest.raises(InvalidProof, match="at most 32"):
        MerkleProof(0, (EMPTY,) * 33)
    with pytest.raises(InvalidProof, match="outside"):
        compute_root_from_proof(MerkleProof(4, (EMPTY, EMPTY)), EMPTY, H)
    tree = SparseMerkleTree(4, H)
    with pytest.raises(InvalidProof, match="outside"):
        tree.get_proof(16)
    with pytest.raises(InvalidProof, match="outside"):
        tree.apply_leaf(-1, EMPTY)
    with pytest.raises(InvalidProof, match="depth"):
        SparseMerkleTree(33, H)


def test_copy_is_independent():
    tree = SparseMerkleTree(4, H)
    tree.apply_leaf(3, b"\x01" * 32)
    clone = tree.copy()
    clone.apply_leaf(3, b"\x02" * 32)
    assert tree.get_leaf(3) == b"\x01" * 32
    assert tree.get_root() != clone.get_root()
