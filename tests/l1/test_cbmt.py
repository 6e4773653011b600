"""CKB's CBMT (RFC 0006, crate merkle-cbt 0.3.1) and ckbhash/blake160 (RFC 0022/0027)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l1.ckb.cbmt import (
    EMPTY_ROOT,
    CbmtProof,
    _build_nodes,
    _build_proof,
    _merkle_root,
    _proof_root,
    build_cbmt_proof,
    cbmt_nodes,
    cbmt_root,
    compute_cbmt_proof_root,
    merge_ckb,
    retrieve_cbmt_leaves,
    verify_cbmt_proof,
)
from l1.ckb.hashing import BLANK_HASH, blake160, ckbhash

# --------------------------------------------------------------------------------------------
# ckbhash / blake160
# --------------------------------------------------------------------------------------------


def test_ckbhash_empty() -> None:
    # RFC 0027 Appendix "ckbhash" Python unittest; BLANK_HASH in ckb util/hash (ckb-facts §3.1).
    expected = "44f4c69744d5f8c55d642062949dcae49bc4e7ef43d388c5a12f42b5633d163e"
    assert ckbhash(b"").hex() == expected
    assert BLANK_HASH.hex() == expected


def test_ckbhash_ckb() -> None:
    # ckb-facts.md §3.1 "Extra, computed": ckbhash(b"ckb").
    expected = "3a1e411c2444b8d586e3b9a03453ee8a1a34e94e0f1230755818dca9cf9e4978"
    assert ckbhash(b"ckb").hex() == expected


def test_ckbhash_is_personalised_blake2b() -> None:
    # RFC 0022 App. A: BLAKE2b-256, personalization "ckb-default-hash" (not plain BLAKE2b-256).
    assert (
        ckbhash(b"abc")
        == hashlib.blake2b(b"abc", digest_size=32, person=b"ckb-default-hash").digest()
    )
    assert ckbhash(b"abc") != hashlib.blake2b(b"abc", digest_size=32).digest()


def test_blake160_is_ckbhash_prefix() -> None:
    # blake160 = first 20 bytes of ckbhash (secp256k1_blake160_sighash_all.c header comment;
    # ckb-facts.md §2.4).
    assert blake160(b"") == bytes.fromhex("44f4c69744d5f8c55d642062949dcae49bc4e7ef")
    assert blake160(b"ckb") == ckbhash(b"ckb")[:20]
    assert len(blake160(b"x" * 100)) == 20


# --------------------------------------------------------------------------------------------
# Generic tree with merkle-cbt's own test merge: merge(l, r) = r.wrapping_sub(l) over i32
# --------------------------------------------------------------------------------------------


def merge_i32(left: int, right: int) -> int:
    """merkle-cbt src/merkle_tree.rs tests ``MergeI32``: ``right.wrapping_sub(*left)``."""
    return ((right - left + 2**31) % 2**32) - 2**31


def proof_i32(leaves: list[int], indices: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return _build_proof(_build_nodes(leaves, merge_i32), indices)


def test_i32_build_empty() -> None:
    # merkle-cbt tests build_empty: no nodes, root = i32::default() = 0.
    assert _build_nodes([], merge_i32) == []
    assert _merkle_root([], merge_i32, 0) == 0


def test_i32_build_one() -> None:
    # merkle-cbt tests build_one: [1] -> nodes [1].
    assert _build_nodes([1], merge_i32) == [1]
    assert _merkle_root([1], merge_i32, 0) == 1


def test_i32_build_two() -> None:
    # merkle-cbt tests build_two: [1, 2] -> nodes [1, 1, 2].
    assert _build_nodes([1, 2], merge_i32) == [1, 1, 2]


def test_i32_build_five() -> None:
    # merkle-cbt tests build_five and build_root_directly: [2,3,5,7,11] -> nodes
    # [4, -2, 2, 4, 2, 3, 5, 7, 11], root 4 (ckb-facts §3.5, VERIFIED).
    assert _build_nodes([2, 3, 5, 7, 11], merge_i32) == [4, -2, 2, 4, 2, 3, 5, 7, 11]
    assert _merkle_root([2, 3, 5, 7, 11], merge_i32, 0) == 4


def test_i32_build_proof() -> None:
    # merkle-cbt tests build_proof: leaves [2,3,5,7,11,13], leaf indices [0,5] -> lemmas [11,3,2],
    # proof root 1 (ckb-facts §3.5).
    indices, lemmas = proof_i32([2, 3, 5, 7, 11, 13], [0, 5])
    assert lemmas == (11, 3, 2)
    assert indices == (5, 10)  # tree indices (i + n - 1), ordered by leaf value 2 < 13
    assert _proof_root(indices, lemmas, [2, 13], merge_i32) == 1
    assert _merkle_root([2, 3, 5, 7, 11, 13], merge_i32, 0) == 1
    # Same test, "merkle proof for single leaf": [2], index [0] -> no lemmas, root 2.
    indices, lemmas = proof_i32([2], [0])
    assert (indices, lemmas) == ((0,), ())
    assert _proof_root(indices, lemmas, [2], merge_i32) == 2


def test_i32_rebuild_proof() -> None:
    # merkle-cbt 0.3.1 tests rebuild_proof: tree of [2,3,5,7,11], proof of leaves [0, 3] rebuilt
    # from (indices, lemmas) verifies against the tree root with the leaves read at those indices.
    nodes = _build_nodes([2, 3, 5, 7, 11], merge_i32)
    indices, lemmas = _build_proof(nodes, [0, 3])
    needed = [nodes[i] for i in indices]
    assert _proof_root(tuple(indices), tuple(lemmas), needed, merge_i32) == nodes[0] == 4


def test_i32_leaves_may_be_given_in_any_order() -> None:
    # merkle-cbt MerkleProof::root sorts the leaves and pairs them with the value-ordered indices.
    indices, lemmas = proof_i32([2, 3, 5, 7, 11, 13], [0, 5])
    assert _proof_root(indices, lemmas, [13, 2], merge_i32) == 1


def test_i32_wrapping_merge() -> None:
    # i32 wrapping_sub, as MergeI32 does: i32::MIN - 1 wraps to i32::MAX.
    assert merge_i32(1, -(2**31)) == 2**31 - 1
    assert merge_i32(-1, 2**31 - 1) == -(2**31)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=300))
def test_i32_root_directly_equals_tree_root(leaves: list[int]) -> None:
    # merkle-cbt proptest build_root_is_same_as_tree_root.
    nodes = _build_nodes(leaves, merge_i32)
    assert _merkle_root(leaves, merge_i32, 0) == (nodes[0] if nodes else 0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=200).flatmap(
        lambda leaves: st.tuples(
            st.just(leaves),
            st.lists(
                st.integers(0, len(leaves) - 1), min_size=1, max_size=len(leaves) - 1, unique=True
            ),
        )
    )
)
def test_i32_tree_root_equals_proof_root(case: tuple[list[int], list[int]]) -> None:
    # merkle-cbt proptest tree_root_is_same_as_proof_root (proper subsets of leaf indices).
    leaves, leaf_indices = case
    indices, lemmas = proof_i32(leaves, leaf_indices)
    proof_leaves = [leaves[i] for i in leaf_indices]
    assert _proof_root(indices, lemmas, proof_leaves, merge_i32) == _merkle_root(
        leaves, merge_i32, 0
    )


def test_i32_dropped_branch_is_rejected() -> None:
    # Deliberate strictness (see l1/ckb/cbmt.py docstring): merkle-cbt's MerkleProof::root,
    # given indices {4, 2, 1} and no lemmas, silently drops node 4 (no lemma for its sibling 3)
    # and returns merge(node1, node2).  Here a missing lemma fails the proof.
    assert _proof_root((4, 2, 1), (), [40, 20, 10], merge_i32) is None


# --------------------------------------------------------------------------------------------
# CKB CBMT over 32-byte hashes
# --------------------------------------------------------------------------------------------


def leaf(i: int) -> bytes:
    return ckbhash(b"leaf" + i.to_bytes(4, "little"))


def test_root_edge_cases() -> None:
    # RFC 0006 "Specially, the tree with 0 item is empty(0 node) and its root is H256::zero";
    # merkle-cbt build_merkle_root returns the single leaf unchanged.
    assert cbmt_root([]) == EMPTY_ROOT == bytes(32)
    assert cbmt_root([leaf(0)]) == leaf(0)
    assert cbmt_nodes([]) == []


def test_root_layout_from_rfc0006() -> None:
    # RFC 0006 "Nodes Organization": with n items, item i is node i + n - 1 and
    # node i = merge(node 2i+1, node 2i+2), merge = ckbhash(l || r) (RFC 0027 "CKB Merkle Tree").
    t0, t1, t2 = leaf(0), leaf(1), leaf(2)
    assert cbmt_root([t0, t1]) == ckbhash(t0 + t1)
    # 3 items: nodes [B0, B1, T0, T1, T2]; B1 = merge(T1, T2); B0 = merge(B1, T0).
    assert cbmt_root([t0, t1, t2]) == ckbhash(ckbhash(t1 + t2) + t0)
    assert cbmt_nodes([t0, t1, t2]) == [
        ckbhash(ckbhash(t1 + t2) + t0),
        ckbhash(t1 + t2),
        t0,
        t1,
        t2,
    ]


def test_transactions_root_shape() -> None:
    # RFC 0027 "transactions_root": ckbhash(T || W) = CBMT root of the two roots [T, W].
    tx_hashes = [leaf(i) for i in range(3)]
    witness_hashes = [leaf(100 + i) for i in range(3)]
    t, w = cbmt_root(tx_hashes), cbmt_root(witness_hashes)
    assert cbmt_root([t, w]) == ckbhash(t + w) == merge_ckb(t, w)


def test_rfc0006_proof_example() -> None:
    # RFC 0006 "Merkle Proof": proving [T1, T4] of 6 items needs nodes [T5, T0, B3] and
    # indexes [9, 6] (ordered by item hash).
    items = [leaf(i) for i in range(6)]
    nodes = cbmt_nodes(items)
    proof = build_cbmt_proof(items, [1, 4])
    assert proof.lemmas == (items[5], items[0], nodes[3])
    assert proof.indices == tuple(sorted((6, 9), key=lambda i: nodes[i]))
    assert verify_cbmt_proof(proof, cbmt_root(items), [items[1], items[4]])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40).flatmap(
        lambda leaves: st.tuples(
            st.just(leaves),
            st.lists(
                st.integers(0, len(leaves) - 1), min_size=1, max_size=len(leaves), unique=True
            ),
        )
    )
)
def test_proofs_verify(case: tuple[list[bytes], list[int]]) -> None:
    leaves, leaf_indices = case
    root = cbmt_root(leaves)
    assert root == cbmt_nodes(leaves)[0]
    proof = build_cbmt_proof(leaves, leaf_indices)
    proven = [leaves[i] for i in leaf_indices]
    assert compute_cbmt_proof_root(proof, proven) == root
    assert verify_cbmt_proof(proof, root, proven)
    assert verify_cbmt_proof(proof, root, list(reversed(proven)))  # any order
    retrieved = retrieve_cbmt_leaves(leaves, proof)
    assert retrieved is not None
    assert sorted(retrieved) == sorted(proven)
    assert list(retrieved) == sorted(retrieved)  # indices are ordered by leaf value


def test_retrieve_leaves_vectors() -> None:
    # merkle-cbt 0.3.1 tests verify_retrieve_leaves: leaves [2,3,5,7,11,13], indices [0,3] ->
    # retrieved [2, 7]; indices [] / [4] / [11] -> None.  Same positions with hash leaves here.
    items = [leaf(v) for v in (2, 3, 5, 7, 11, 13)]
    proof = build_cbmt_proof(items, [0, 3])
    retrieved = retrieve_cbmt_leaves(items, proof)
    assert retrieved is not None
    assert sorted(retrieved) == sorted([items[0], items[3]])
    assert compute_cbmt_proof_root(proof, list(retrieved)) == cbmt_root(items)
    for bad in ((), (4,), (11,)):
        assert retrieve_cbmt_leaves(items, CbmtProof(bad, proof.lemmas)) is None
    assert retrieve_cbmt_leaves([], proof) is None


# --------------------------------------------------------------------------------------------
# Tampering
# --------------------------------------------------------------------------------------------


@pytest.fixture
def setup() -> tuple[list[bytes], bytes, CbmtProof, list[bytes]]:
    items = [leaf(i) for i in range(11)]
    proof = build_cbmt_proof(items, [2, 7, 8])
    return items, cbmt_root(items), proof, [items[2], items[7], items[8]]


Setup = tuple[list[bytes], bytes, CbmtProof, list[bytes]]


def test_untampered_proof_verifies(setup: Setup) -> None:
    _, root, proof, proven = setup
    assert verify_cbmt_proof(proof, root, proven)


def test_wrong_leaf_fails(setup: Setup) -> None:
    items, root, proof, proven = setup
    assert not verify_cbmt_proof(proof, root, [items[3], proven[1], proven[2]])
    flipped = bytes([proven[0][0] ^ 1]) + proven[0][1:]
    assert not verify_cbmt_proof(proof, root, [flipped, proven[1], proven[2]])


def test_wrong_lemma_fails(setup: Setup) -> None:
    _, root, proof, proven = setup
    for k in range(len(proof.lemmas)):
        lemmas = list(proof.lemmas)
        lemmas[k] = ckbhash(lemmas[k])
        assert not verify_cbmt_proof(CbmtProof(proof.indices, tuple(lemmas)), root, proven)


def test_wrong_index_fails(setup: Setup) -> None:
    items, root, proof, proven = setup
    n = len(items)
    for k in range(len(proof.indices)):
        for delta in (-1, 1):
            indices = list(proof.indices)
            indices[k] += delta
            if indices[k] < n - 1 or indices[k] in proof.indices:
                continue
            assert not verify_cbmt_proof(CbmtProof(tuple(indices), proof.lemmas), root, proven)
    # Swapping which index goes with which leaf also fails (indices are ordered by leaf value).
    swapped = CbmtProof(tuple(reversed(proof.indices)), proof.lemmas)
    assert not verify_cbmt_proof(swapped, root, proven)


def test_missing_or_extra_lemma_fails(setup: Setup) -> None:
    _, root, proof, proven = setup
    assert not verify_cbmt_proof(CbmtProof(proof.indices, proof.lemmas[:-1]), root, proven)
    extra = CbmtProof(proof.indices, (*proof.lemmas, bytes(32)))
    assert compute_cbmt_proof_root(extra, proven) is None


def test_wrong_leaf_count_or_root_fails(setup: Setup) -> None:
    _, root, proof, proven = setup
    assert compute_cbmt_proof_root(proof, proven[:2]) is None
    assert compute_cbmt_proof_root(proof, [*proven, proven[0]]) is None
    assert compute_cbmt_proof_root(proof, []) is None
    assert not verify_cbmt_proof(proof, ckbhash(root), proven)
    assert compute_cbmt_proof_root(proof, [b"short", proven[1], proven[2]]) is None


def test_duplicate_indices_rejected(setup: Setup) -> None:
    _, root, proof, proven = setup
    dup = CbmtProof((proof.indices[0], proof.indices[0], proof.indices[2]), proof.lemmas)
    assert not verify_cbmt_proof(dup, root, proven)


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def test_build_proof_errors() -> None:
    items = [leaf(i) for i in range(4)]
    with pytest.raises(ValueError, match="empty tree"):
        build_cbmt_proof([], [0])
    with pytest.raises(ValueError, match="no leaf indices"):
        build_cbmt_proof(items, [])
    with pytest.raises(ValueError, match="out of range"):
        build_cbmt_proof(items, [4])
    with pytest.raises(ValueError, match="out of range"):
        build_cbmt_proof(items, [-1])
    with pytest.raises(ValueError, match="duplicate"):
        build_cbmt_proof(items, [1, 1])


def test_leaves_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        cbmt_root([b"\x00" * 31])
    with pytest.raises(ValueError, match="32 bytes"):
        build_cbmt_proof([leaf(0), b"x"], [0])


def test_proof_fields_validated() -> None:
    with pytest.raises(ValueError, match="u32"):
        CbmtProof((-1,), ())
    with pytest.raises(ValueError, match="u32"):
        CbmtProof((1 << 32,), ())
    with pytest.raises(ValueError, match="32 bytes"):
        CbmtProof((0,), (b"\x00" * 33,))
    proof = CbmtProof((3,), (bytes(32),))
    with pytest.raises(AttributeError):
        proof.indices = ()  # type: ignore[misc]
