"""Baby Jubjub and EdDSA-Poseidon, bit for bit circomlibjs 0.1.7 (``src/babyjub.js``,
``src/eddsa.js``) and circomlib 2.0.5 (``circuits/babyjub.circom``, ``eddsaposeidon.circom``).

The signature scheme of the validity profile (docs/validity.md §1): a twisted Edwards curve over
the BN254 scalar field, so a Groth16 circuit on BN254 checks a signature in a few thousand
constraints.

**Curve** (EIP-2494): ``a·x² + y² = 1 + d·x²·y²`` over ``F_p`` (``p`` = ``BN254_SCALAR_FIELD``),
``a = 168700``, ``d = 168696``; order ``8·L`` with ``L`` prime; ``BASE8`` generates the order-``L``
subgroup.  ``a`` is a square and ``d`` is not, so the addition law below is complete (no
exceptional pairs; Bernstein et al., "Twisted Edwards curves", 2008, theorem 3.3).  Arithmetic
runs in extended coordinates ``(X, Y, Z, T)``, ``x = X/Z, y = Y/Z, x·y = T/Z`` (Hisil, Wong,
Carter, Dawson, "Twisted Edwards curves revisited", 2008: ``add-2008-hwcd``, ``dbl-2008-hwcd``):
no inversion until the result is made affine.

**Encoding** (circomlibjs ``packPoint``): ``y`` as 32 bytes little-endian, bit 255 set iff
``x > (p - 1)/2``.  ``unpack_point`` is strict where circomlibjs is lenient: ``y >= p`` (which
includes bit 254 set), a ``y`` with no ``x`` on the curve, and a set sign bit with ``x = 0``
("negative zero") are refused, so each point has exactly one encoding (docs/validity.md §1).

**EdDSA** (circomlibjs ``prv2pub``, ``signPoseidon``, ``verifyPoseidon``): ``k = BLAKE-512(prv)``,
``s`` = the first 32 bytes pruned (low 3 bits cleared, bit 255 cleared, bit 254 set), public key
``A = (s >> 3)·BASE8``; nonce ``r = BLAKE-512(k[32:64] || m as 32 bytes LE) mod L``,
``R8 = r·BASE8``, ``h = Poseidon(R8x, R8y, Ax, Ay, m)``, ``S = (r + h·s) mod L``.  Verification:
``S < L`` and ``S·BASE8 == R8 + (8·h)·A``.

**BLAKE-512** is the SHA-3 finalist BLAKE (Aumasson, Henzen, Meier, Phan, "SHA-3 proposal
BLAKE", version 1.3, 2010) with 64-bit words and 16 rounds -- not BLAKE2b -- because circomlibjs
hashes private keys with npm ``blake-hash``'s ``blake512``.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from l2.errors import FieldOutOfRange
from l2.poseidon import BN254_SCALAR_FIELD, compute_poseidon

__all__ = [
    "BABYJUB_A",
    "BABYJUB_D",
    "BASE8",
    "IDENTITY",
    "SUBGROUP_ORDER",
    "Point",
    "add_points",
    "compute_blake512",
    "compute_public_key",
    "compute_public_scalar",
    "is_in_subgroup",
    "is_on_curve",
    "multiply_point",
    "pack_point",
    "pack_signature",
    "sign_poseidon",
    "unpack_point",
    "unpack_signature",
    "verify_poseidon",
]

#: An affine point ``(x, y)``, both in ``[0, p)``.
Point: TypeAlias = tuple[int, int]
_Extended: TypeAlias = tuple[int, int, int, int]

_P: Final = BN254_SCALAR_FIELD
BABYJUB_A: Final = 168700
BABYJUB_D: Final = 168696
#: ``L``: the prime order of the subgroup ``BASE8`` generates (EIP-2494 ``l``).
SUBGROUP_ORDER: Final = 2736030358979909402780800718157159386076813972158567259200215660948447373041
BASE8: Final[Point] = (
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)
IDENTITY: Final[Point] = (0, 1)
_HALF_P: Final = (_P - 1) // 2
_PRIVATE_KEY_SIZE: Final = 32


# ----------------------------------------------------------------------------- field
def _compute_sqrt_parameters() -> tuple[int, int, int]:
    """``p - 1 = q·2^e`` with ``q`` odd, and a quadratic non-residue (for Tonelli-Shanks)."""
    q, e = _P - 1, 0
    while q % 2 == 0:
        q, e = q // 2, e + 1
    z = 2
    while pow(z, (_P - 1) // 2, _P) != _P - 1:
        z += 1
    return q, e, z


_SQRT_Q, _SQRT_E, _NON_RESIDUE = _compute_sqrt_parameters()


def _compute_sqrt(value: int) -> int | None:
    """A square root of ``value`` mod ``p`` (Tonelli-Shanks: ``p ≡ 1 mod 2^28``), or ``None``."""
    if value == 0:
        return 0
    if pow(value, (_P - 1) // 2, _P) != 1:
        return None
    m, c = _SQRT_E, pow(_NON_RESIDUE, _SQRT_Q, _P)
    t, root = pow(value, _SQRT_Q, _P), pow(value, (_SQRT_Q + 1) // 2, _P)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2, i = t2 * t2 % _P, i + 1
        b = pow(c, 1 << (m - i - 1), _P)
        m, c = i, b * b % _P
        t, root = t * c % _P, root * b % _P
    return root


# ----------------------------------------------------------------------------- curve
def is_on_curve(point: Point) -> bool:
    """``a·x² + y² == 1 + d·x²·y²`` with both coordinates in ``[0, p)``."""
    x, y = point
    if not (0 <= x < _P and 0 <= y < _P):
        return False
    x2, y2 = x * x % _P, y * y % _P
    return (BABYJUB_A * x2 + y2 - 1 - BABYJUB_D * x2 % _P * y2) % _P == 0


def _to_extended(point: Point) -> _Extended:
    x, y = point
    return (x, y, 1, x * y % _P)


def _to_affine(point: _Extended) -> Point:
    x, y, z, _ = point
    inverse = pow(z, -1, _P)
    return (x * inverse % _P, y * inverse % _P)


def _add(p1: _Extended, p2: _Extended) -> _Extended:
    """``add-2008-hwcd`` (complete on this curve)."""
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = x1 * x2 % _P
    b = y1 * y2 % _P
    c = BABYJUB_D * t1 % _P * t2 % _P
    d = z1 * z2 % _P
    e = ((x1 + y1) * (x2 + y2) - a - b) % _P
    f = d - c
    g = d + c
    h = b - BABYJUB_A * a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _double(p1: _Extended) -> _Extended:
    """``dbl-2008-hwcd``."""
    x1, y1, z1, _ = p1
    a = x1 * x1 % _P
    b = y1 * y1 % _P
    c = 2 * z1 * z1 % _P
    d = BABYJUB_A * a % _P
    e = ((x1 + y1) * (x1 + y1) - a - b) % _P
    g = d + b
    f = g - c
    h = d - b
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


_EXTENDED_IDENTITY: Final[_Extended] = (0, 1, 1, 0)


def _multiply(point: _Extended, scalar: int) -> _Extended:
    result = _EXTENDED_IDENTITY
    for bit in bin(scalar)[2:] if scalar > 0 else "":
        result = _double(result)
        if bit == "1":
            result = _add(result, point)
    return result


def _compute_base8_table() -> tuple[_Extended, ...]:
    """``2^i · BASE8`` for ``i < 256``: a fixed-base multiplication then needs no doubling."""
    table = [_to_extended(BASE8)]
    for _ in range(255):
        table.append(_double(table[-1]))
    return tuple(table)


_BASE8_TABLE: Final = _compute_base8_table()


def _multiply_base8(scalar: int) -> _Extended:
    result = _EXTENDED_IDENTITY
    scalar %= SUBGROUP_ORDER
    i = 0
    while scalar:
        if scalar & 1:
            result = _add(result, _BASE8_TABLE[i])
        scalar >>= 1
        i += 1
    return result


def add_points(p1: Point, p2: Point) -> Point:
    """The group law (circomlibjs ``addPoint``)."""
    return _to_affine(_add(_to_extended(p1), _to_extended(p2)))


def multiply_point(point: Point, scalar: int) -> Point:
    """``scalar · point`` for ``scalar >= 0`` (circomlibjs ``mulPointEscalar``)."""
    if scalar < 0:
        raise FieldOutOfRange("a scalar multiplier is non-negative")
    if point == BASE8:
        return _to_affine(_multiply_base8(scalar))
    return _to_affine(_multiply(_to_extended(point), scalar))


def is_in_subgroup(point: Point) -> bool:
    """On the curve and ``L · point`` is the identity (circomlibjs ``inSubgroup``)."""
    return is_on_curve(point) and multiply_point(point, SUBGROUP_ORDER) == IDENTITY


def pack_point(point: Point) -> bytes:
    """circomlibjs ``packPoint``: ``y`` LE, bit 255 set iff ``x > (p - 1)/2``."""
    if not is_on_curve(point):
        raise FieldOutOfRange("only a point on Baby Jubjub can be packed")
    x, y = point
    packed = y | (1 << 255) if x > _HALF_P else y
    return packed.to_bytes(32, "little")


def unpack_point(data: bytes) -> Point:
    """Strict inverse of ``pack_point``; ``FieldOutOfRange`` (with the reason) for anything
    ``pack_point`` would not produce (see the module docstring)."""
    if len(data) != 32:
        raise FieldOutOfRange(f"a packed point is 32 bytes, got {len(data)}")
    value = int.from_bytes(data, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= _P:
        raise FieldOutOfRange("packed point: y is not below the field modulus (non-canonical)")
    y2 = y * y % _P
    # a - d·y² is never 0: a/d is not a square (a is one, d is not).
    x2 = (1 - y2) * pow(BABYJUB_A - BABYJUB_D * y2, -1, _P) % _P
    x = _compute_sqrt(x2)
    if x is None:
        raise FieldOutOfRange("packed point: no point on Baby Jubjub has this y")
    if x == 0 and sign:
        raise FieldOutOfRange("packed point: sign bit set with x = 0 (non-canonical)")
    if x > _HALF_P:
        x = _P - x
    return (_P - x if sign else x, y)


# ----------------------------------------------------------------------------- BLAKE-512
_MASK64: Final = (1 << 64) - 1
#: SHA-512's initial value, which BLAKE-512 reuses (BLAKE v1.3, §2.2.1).
_BLAKE512_IV: Final = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)
#: The first digits of pi (BLAKE v1.3, §2.2.1).
_BLAKE512_C: Final = (
    0x243F6A8885A308D3,
    0x13198A2E03707344,
    0xA4093822299F31D0,
    0x082EFA98EC4E6C89,
    0x452821E638D01377,
    0xBE5466CF34E90C6C,
    0xC0AC29B7C97C50DD,
    0x3F84D5B5B5470917,
    0x9216D5D98979FB1B,
    0xD1310BA698DFB5AC,
    0x2FFD72DBD01ADFB7,
    0xB8E1AFED6A267E96,
    0xBA7C9045F12C7F99,
    0x24A19947B3916CF7,
    0x0801F2E2858EFC16,
    0x636920D871574E69,
)
#: The message-word permutations ``σ_0 .. σ_9`` (round ``r`` uses ``σ_{r mod 10}``).
_BLAKE_SIGMA: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
_BLAKE512_ROUNDS: Final = 16
#: The column then diagonal steps of a round: ``(a, b, c, d)`` state indices.
_BLAKE_STEPS: Final = (
    (0, 4, 8, 12),
    (1, 5, 9, 13),
    (2, 6, 10, 14),
    (3, 7, 11, 15),
    (0, 5, 10, 15),
    (1, 6, 11, 12),
    (2, 7, 8, 13),
    (3, 4, 9, 14),
)


def _rotr64(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _MASK64


def _blake512_compress(h: list[int], block: bytes, counter: int) -> list[int]:
    """BLAKE-512's compression of one 128-byte block, salt zero (v1.3, §2.2.2)."""
    m = [int.from_bytes(block[8 * i : 8 * i + 8], "big") for i in range(16)]
    c = _BLAKE512_C
    t0, t1 = counter & _MASK64, counter >> 64
    v = [*h, c[0], c[1], c[2], c[3], t0 ^ c[4], t0 ^ c[5], t1 ^ c[6], t1 ^ c[7]]
    for r in range(_BLAKE512_ROUNDS):
        s = _BLAKE_SIGMA[r % 10]
        for i, (a, b, cc, d) in enumerate(_BLAKE_STEPS):
            j, k = s[2 * i], s[2 * i + 1]
            v[a] = (v[a] + v[b] + (m[j] ^ c[k])) & _MASK64
            v[d] = _rotr64(v[d] ^ v[a], 32)
            v[cc] = (v[cc] + v[d]) & _MASK64
            v[b] = _rotr64(v[b] ^ v[cc], 25)
            v[a] = (v[a] + v[b] + (m[k] ^ c[j])) & _MASK64
            v[d] = _rotr64(v[d] ^ v[a], 16)
            v[cc] = (v[cc] + v[d]) & _MASK64
            v[b] = _rotr64(v[b] ^ v[cc], 11)
    return [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]


def compute_blake512(data: bytes) -> bytes:
    """BLAKE-512 of ``data`` (64 bytes; npm ``blake-hash``'s ``blake512``).

    Padding (v1.3, §2.2.4): a 1 bit, zeros up to 895 bits mod 1024, a 1 bit, the 128-bit message
    length.  Each block's counter is the number of message bits up to its end, or 0 for a block
    that holds padding only.
    """
    bit_length = 8 * len(data)
    pad_length = (111 - len(data)) % 128
    padding = bytearray(b"\x80" + bytes(pad_length))
    padding[-1] |= 0x01
    message = data + bytes(padding) + bit_length.to_bytes(16, "big")
    h = list(_BLAKE512_IV)
    for offset in range(0, len(message), 128):
        counter = min(8 * (offset + 128), bit_length) if offset < len(data) else 0
        h = _blake512_compress(h, message[offset : offset + 128], counter)
    return b"".join(word.to_bytes(8, "big") for word in h)


# ----------------------------------------------------------------------------- EdDSA
def _compute_secret(private_key: bytes) -> tuple[int, bytes]:
    """The pruned scalar ``s`` and the nonce key ``k[32:64]`` (circomlibjs ``pruneBuffer``)."""
    if not isinstance(private_key, bytes) or len(private_key) != _PRIVATE_KEY_SIZE:
        raise FieldOutOfRange(f"a Baby Jubjub private key is {_PRIVATE_KEY_SIZE} bytes")
    digest = bytearray(compute_blake512(private_key))
    digest[0] &= 0xF8
    digest[31] &= 0x7F
    digest[31] |= 0x40
    return int.from_bytes(digest[:32], "little"), bytes(digest[32:])


def compute_public_scalar(private_key: bytes) -> int:
    """``s >> 3``, the discrete log of the public key to ``BASE8``."""
    return _compute_secret(private_key)[0] >> 3


def compute_public_key(private_key: bytes) -> Point:
    """circomlibjs ``eddsa.prv2pub``: ``(s >> 3) · BASE8``."""
    return _to_affine(_multiply_base8(compute_public_scalar(private_key)))


def _check_field(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _P:
        raise FieldOutOfRange(f"{what} must be a field element, got {value!r}")


def sign_poseidon(private_key: bytes, message: int) -> tuple[Point, int]:
    """circomlibjs ``eddsa.signPoseidon``: ``(R8, S)`` (deterministic)."""
    _check_field(message, "the signed message")
    s, nonce_key = _compute_secret(private_key)
    public_key = _to_affine(_multiply_base8(s >> 3))
    nonce_digest = compute_blake512(nonce_key + message.to_bytes(32, "little"))
    r = int.from_bytes(nonce_digest, "little") % SUBGROUP_ORDER
    r8 = _to_affine(_multiply_base8(r))
    h = compute_poseidon([r8[0], r8[1], public_key[0], public_key[1], message])
    return r8, (r + h * s) % SUBGROUP_ORDER


def verify_poseidon(public_key: Point, message: int, r8: Point, s: int) -> bool:
    """circomlib ``EdDSAPoseidonVerifier`` / circomlibjs ``verifyPoseidon``: both points on the
    curve, ``S < L``, ``S·BASE8 == R8 + (8·h)·A`` with ``h = Poseidon(R8x, R8y, Ax, Ay, m)``.

    Subgroup membership of ``A`` is the caller's business (the validity profile checks it when
    it validates the key); like the circuit, this does not."""
    if not (is_on_curve(public_key) and is_on_curve(r8)):
        return False
    if isinstance(message, bool) or not 0 <= message < _P or not 0 <= s < SUBGROUP_ORDER:
        return False
    h = compute_poseidon([r8[0], r8[1], public_key[0], public_key[1], message])
    left = _multiply_base8(s)
    right = _add(_to_extended(r8), _multiply(_to_extended(public_key), 8 * h))
    # Projective equality: X1·Z2 == X2·Z1 and Y1·Z2 == Y2·Z1.
    return (left[0] * right[2] - right[0] * left[2]) % _P == 0 and (
        left[1] * right[2] - right[1] * left[2]
    ) % _P == 0


def pack_signature(r8: Point, s: int) -> bytes:
    """circomlibjs ``packSignature``: ``pack_point(R8) || S`` (32 bytes LE)."""
    if not 0 <= s < SUBGROUP_ORDER:
        raise FieldOutOfRange("signature S must be below the subgroup order")
    return pack_point(r8) + s.to_bytes(32, "little")


def unpack_signature(data: bytes) -> tuple[Point, int]:
    """Strict inverse of ``pack_signature``: ``FieldOutOfRange`` for a wrong length, a
    non-canonical ``R8`` or ``S >= L``."""
    if len(data) != 64:
        raise FieldOutOfRange(f"a packed signature is 64 bytes, got {len(data)}")
    r8 = unpack_point(data[:32])
    s = int.from_bytes(data[32:], "little")
    if s >= SUBGROUP_ORDER:
        raise FieldOutOfRange("signature S is not below the subgroup order (malleable)")
    return r8, s
