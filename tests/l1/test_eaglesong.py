"""Eaglesong (RFC 0010): known answers, and the fast implementation checked against a slow one.

The slow reference below follows the structure of the RFC 0010 reference code
(``nervosnetwork/rfcs`` ``rfcs/0010-eaglesong/eaglesong.py``): loops over the bit matrix in the
reference's ``bitmatrix[k][j]`` orientation, the circulant as a sum of three rotations, constant
injection, add-rotate-add, and a byte-by-byte sponge.  It shares only the 688 injection constants
with the module (re-typing them would add nothing: the RFC vector below pins them through both
implementations).
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l1.ckb.eaglesong import EaglesongMidstate, eaglesong, eaglesong_many

# The package re-exports the function ``eaglesong`` under the submodule's name, so fetch the module
# itself for its private tables.
eaglesong_module = importlib.import_module("l1.ckb.eaglesong")

# --------------------------------------------------------------------------------------------
# Slow reference (structure of RFC 0010 eaglesong.py)
# --------------------------------------------------------------------------------------------

# RFC 0010 reference eaglesong.py, ``bitmatrix`` (row k = input word, column j = output word).
REF_BIT_MATRIX = (
    (1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1),
    (0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1),
    (0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1),
    (0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1),
    (1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0),
    (1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1),
    (1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0),
    (1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1),
    (0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1),
    (0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1),
    (0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1),
    (0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1),
    (1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0),
    (0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0),
    (0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0),
    (1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1),
)
# RFC 0010 reference eaglesong.py, ``coefficients``.
REF_COEFFICIENTS = (
    (0, 2, 4), (0, 13, 22), (0, 4, 19), (0, 3, 14), (0, 27, 31), (0, 3, 8), (0, 17, 26), (0, 3, 12),
    (0, 18, 22), (0, 12, 18), (0, 4, 7), (0, 4, 31), (0, 12, 27), (0, 7, 17), (0, 7, 8), (0, 1, 13),
)  # fmt: skip
REF_CONSTANTS = eaglesong_module._INJECTION_CONSTANTS
MASK = 0xFFFFFFFF


def ref_round(state: list[int], index: int) -> list[int]:
    new = [0] * 16
    for j in range(16):
        for k in range(16):
            new[j] ^= state[k] * REF_BIT_MATRIX[k][j]
        new[j] &= MASK
    state = new
    for i in range(16):
        acc = 0
        for c in REF_COEFFICIENTS[i]:
            acc ^= (state[i] << c) ^ (state[i] >> (32 - c))
        state[i] = acc & MASK
    for i in range(16):
        state[i] ^= REF_CONSTANTS[index * 16 + i]
    for i in range(8):
        state[2 * i] = (state[2 * i] + state[2 * i + 1]) & MASK
        state[2 * i] = (state[2 * i] >> 24) ^ ((state[2 * i] << 8) & MASK)
        state[2 * i + 1] = (state[2 * i + 1] >> 8) ^ ((state[2 * i + 1] << 24) & MASK)
        state[2 * i + 1] = (state[2 * i] + state[2 * i + 1]) & MASK
    return state


def ref_eaglesong(data: bytes, delimiter: int = 0x06) -> bytes:
    rate = 256
    state = [0] * 16
    for i in range(((len(data) + 1) * 8 + rate - 1) // rate):
        for j in range(rate // 32):
            word = 0
            for k in range(4):
                pos = i * rate // 8 + j * 4 + k
                if pos < len(data):
                    word = (word << 8) ^ data[pos]
                elif pos == len(data):
                    word = (word << 8) ^ delimiter
            state[j] ^= word
        for r in range(43):
            state = ref_round(state, r)
    out = bytearray(32)
    for j in range(8):
        for k in range(4):
            out[j * 4 + k] = (state[j] >> (8 * k)) & 0xFF
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Known answers
# --------------------------------------------------------------------------------------------

HELLO = b"Hello, world!\n"
# RFC 0010 (0010-eaglesong.md "Reference Implementation" example; ckb-facts.md §4.5, VERIFIED).
HELLO_HASH = "64867e2441d162615dc2430b6bcb4d3f4b95e4d0db529fca1eece73c077d72d6"

KNOWN_ANSWERS = [
    (HELLO, HELLO_HASH),
    # nervosnetwork/eaglesong src/lib.rs tests: BLANK_HASH (empty input).
    (b"", "9e4452fc7aed93d7240b7b55263792befd1be09252b456401122ba71a56f62a0"),
    # nervosnetwork/eaglesong src/lib.rs tests: HASH_34_1 (34 x "1" + "\n", 35 bytes).
    (b"1" * 34 + b"\n", "a50a3310f78cbaeadcffe2d46262119eeeda9d6568b4df1b636399742c867aca"),
    # nervosnetwork/eaglesong src/lib.rs tests: HASH_32_1_2_2 (32 x "1" + "22\n").
    (b"1" * 32 + b"22\n", "d7b68a8ba4cfc606e86ed7e2ca3244ff27b28bb24c28ee09af4b1f47af9b9236"),
    # nervosnetwork/eaglesong src/test_vectors.txt (inputs from OpenSSL evptests.txt, outputs from
    # the RFC 0010 reference eaglesong.py):
    (b"a", "34d81e6aa4551c99edba23e65b69af25b478f5e8233461a7a8c0eb3f40407c97"),
    (b"abc", "1e93baa3ff9f8afa381430b7811d428c5b4514f39f6a78d00511b20305067b68"),
    (b"message digest", "f1d33eb7907454979d67d06dd6995806e397941a8280a25cbabecb43496217e3"),
    (
        b"abcdefghijklmnopqrstuvwxyz",
        "e759b93888208f7df31f749590a7c59420deb04810bae49744cc43f4e3b8094f",
    ),
    (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "2893d0188b08fdc50bad2e9854ff74210eb9805f20f15d7ee1f5410163bcd295",
    ),
    (b"1234567890" * 8, "5f68529f2cbea3c01ef570f0fe03e19c4fa0a1a366ab21fa75e686def0fb726a"),
    (bytes(range(128)), "4bd70497c1045cbf2fbd946e55912ef76dc58c678812910518369911d79a5a46"),
    (bytes(range(130)), "4f91345f65bd47fde7f83b534ae4f5d0af3d8129e479583ac3b2ff02f2e83c76"),
]


@pytest.mark.parametrize(("message", "expected"), KNOWN_ANSWERS)
def test_known_answers(message: bytes, expected: str) -> None:
    assert eaglesong(message).hex() == expected


def test_slow_reference_matches_rfc_vector() -> None:
    # The RFC 0010 vector pins the slow reference too (and with it the shared constants).
    assert ref_eaglesong(HELLO).hex() == HELLO_HASH


def test_output_is_32_bytes_of_bytes() -> None:
    out = eaglesong(b"x" * 48)
    assert isinstance(out, bytes)
    assert len(out) == 32


# --------------------------------------------------------------------------------------------
# Differential: fast vs slow
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length", [0, 1, 2, 3, 4, 5, 14, 27, 28, 29, 31, 32, 33, 48, 63, 64, 65, 100]
)
def test_matches_reference_at_boundary_lengths(length: int) -> None:
    # Lengths around word (4) and block (32) boundaries, the 48-byte PoW message, and the brief's
    # 0/31/32/33/64/100; deterministic non-trivial content.
    message = bytes((7 * i + 3) & 0xFF for i in range(length))
    assert eaglesong(message) == ref_eaglesong(message)


def test_delimiter_alone_in_last_block() -> None:
    # 32-byte input: RFC 0010 absorbs a second block that holds only the delimiter in word 0.
    message = bytes(range(32))
    assert eaglesong(message) == ref_eaglesong(message)


@pytest.mark.parametrize("zeros", [1, 2, 3])
def test_zero_bytes_before_delimiter_collide(zeros: int) -> None:
    # A quirk of RFC 0010's padding, shared by the reference eaglesong.py and CKB's eaglesong crate
    # (src/eaglesong.rs, same absorb loop): the last partial word is right-aligned, so up to three
    # zero bytes between a word boundary and the delimiter are invisible.  Harmless for PoW (fixed
    # 48-byte messages) but eaglesong is NOT collision-free over variable-length input.
    message = bytes(range(1, 45))  # 44 bytes: a multiple of 4
    padded = message + bytes(zeros)
    assert ref_eaglesong(padded) == ref_eaglesong(message)
    assert eaglesong(padded) == eaglesong(message)
    assert eaglesong(message + bytes(4)) != eaglesong(message)  # a whole zero word does count


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=100))
def test_matches_reference_random(message: bytes) -> None:
    assert eaglesong(message) == ref_eaglesong(message)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=48, max_size=48))
def test_matches_reference_pow_length(message: bytes) -> None:
    # 48 bytes = pow_hash (32) || nonce u128 LE (16), ckb/pow/src/lib.rs pow_message.
    assert eaglesong(message) == ref_eaglesong(message)


# --------------------------------------------------------------------------------------------
# Midstate
# --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=3), st.binary(max_size=80))
def test_midstate_equals_full_hash(blocks: int, suffix: bytes) -> None:
    prefix = bytes((31 * i + blocks) & 0xFF for i in range(32 * blocks))
    mid = EaglesongMidstate(prefix)
    assert mid.prefix_len == 32 * blocks
    assert mid.hash(suffix) == eaglesong(prefix + suffix)
    assert mid.hash(suffix) == mid.hash(suffix)  # the midstate is not consumed


def test_midstate_pow_message() -> None:
    # ckb/pow/src/tests.rs test_pow_message: pow_hash = ckbhash(b"") and nonce = u128::MAX.
    pow_hash = bytes.fromhex("44f4c69744d5f8c55d642062949dcae49bc4e7ef43d388c5a12f42b5633d163e")
    nonce = (1 << 128) - 1
    message = pow_hash + nonce.to_bytes(16, "little")
    assert EaglesongMidstate(pow_hash).hash(nonce.to_bytes(16, "little")) == eaglesong(message)
    assert eaglesong(message) == ref_eaglesong(message)


@pytest.mark.parametrize("length", [1, 16, 31, 33, 48])
def test_midstate_rejects_partial_block_prefix(length: int) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        EaglesongMidstate(bytes(length))


# --------------------------------------------------------------------------------------------
# Lane-parallel batches
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=70), max_size=12))
def test_many_equals_single_calls(messages: list[bytes]) -> None:
    assert eaglesong_many(messages) == [eaglesong(msg) for msg in messages]


def test_many_known_answers_and_extreme_lanes() -> None:
    # All-0xFF and all-zero messages maximise/minimise carries between neighbouring lanes.
    messages = [msg for msg, _ in KNOWN_ANSWERS] + [b"\xff" * 48, bytes(48), b"\xff" * 48]
    expected = [digest for _, digest in KNOWN_ANSWERS]
    got = eaglesong_many(messages)
    assert [d.hex() for d in got[: len(expected)]] == expected
    assert got[len(expected) :] == [eaglesong(msg) for msg in messages[len(expected) :]]


def test_many_spans_several_lane_chunks() -> None:
    count = eaglesong_module._LANE_CHUNK + 37
    messages = [i.to_bytes(2, "big") * 24 for i in range(count)]  # 48 bytes each
    assert eaglesong_many(messages) == [eaglesong(msg) for msg in messages]
    assert eaglesong_many([]) == []


def test_midstate_hash_many_pow_nonces() -> None:
    # pow_message = pow_hash || nonce u128 LE (ckb/pow/src/lib.rs); pow_hash = ckbhash(b"").
    pow_hash = bytes.fromhex("44f4c69744d5f8c55d642062949dcae49bc4e7ef43d388c5a12f42b5633d163e")
    mid = EaglesongMidstate(pow_hash)
    nonces = [n.to_bytes(16, "little") for n in (*range(100), (1 << 128) - 1)]
    assert mid.hash_many(nonces) == [eaglesong(pow_hash + n) for n in nonces]
    assert mid.hash_many([]) == []


# --------------------------------------------------------------------------------------------
# Structure of the unrolled code
# --------------------------------------------------------------------------------------------


def test_xor_sources_follow_reference_orientation() -> None:
    # RFC 0010 reference: new[j] ^= state[k] * bitmatrix[k][j]  (NOT the prose's [j, k]).
    expected = tuple(tuple(k for k in range(16) if REF_BIT_MATRIX[k][j]) for j in range(16))
    assert expected == eaglesong_module._XOR_SOURCES
    assert eaglesong_module._BIT_MATRIX == REF_BIT_MATRIX
    assert eaglesong_module._COEFFICIENTS == REF_COEFFICIENTS


def test_unrolled_bit_matrix_computes_the_matrix() -> None:
    """Symbolically evaluate the XOR lines of ``_permute`` and compare with the RFC matrix."""
    source = inspect.getsource(eaglesong_module._permute)
    signals: dict[str, int] = {f"s{k}": 1 << k for k in range(16)}  # bitmask of input words
    xor_count = 0
    for line in source.splitlines():
        m = re.fullmatch(r"\s*([ty]\d+) = ((?:[st]\d+)(?: \^ [st]\d+)+)\s*", line)
        if not m:
            continue
        value = 0
        operands = m.group(2).split(" ^ ")
        for operand in operands:
            value ^= signals[operand]
        signals[m.group(1)] = value
        xor_count += len(operands) - 1
    for j in range(16):
        assert signals[f"y{j}"] == sum(1 << k for k in range(16) if REF_BIT_MATRIX[k][j]), j
    assert xor_count < 120  # the naive column sums need 120 XORs per round


def test_round_constants_shape() -> None:
    assert len(eaglesong_module._INJECTION_CONSTANTS) == 43 * 16  # RFC 0010: 688 constants
    assert len(eaglesong_module._ROUND_CONSTANTS) == 43
    assert all(len(row) == 16 for row in eaglesong_module._ROUND_CONSTANTS)
