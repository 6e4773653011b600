"""The header's ``dao`` field: C | AR | S | U, four u64 little-endian (RFC 0023 "Calculation";
``ckb:util/dao``).

C is all capacity issued so far, AR the NervosDAO accumulated rate (scaled by 10^16), S the
secondary issuance not yet claimed, U the occupied capacity of all live cells. This L1 issues
only the primary reward for now, so AR stays 10^16 and S stays 0; C and U are tracked exactly,
so secondary issuance and NervosDAO can arrive without a format change.
"""

from __future__ import annotations

from dataclasses import dataclass

from l1.core.errors import CapacityOverflow

__all__ = ["AR_BASE", "DaoData", "compute_block_dao"]

AR_BASE = 10**16
_U64 = 1 << 64


@dataclass(frozen=True, slots=True)
class DaoData:
    c: int
    ar: int
    s: int
    u: int

    def pack(self) -> bytes:
        return b"".join(v.to_bytes(8, "little") for v in (self.c, self.ar, self.s, self.u))

    @classmethod
    def unpack(cls, data: bytes) -> DaoData:
        if len(data) != 32:
            raise ValueError(f"dao field must be 32 bytes, got {len(data)}")
        c, ar, s, u = (int.from_bytes(data[i : i + 8], "little") for i in range(0, 32, 8))
        return cls(c, ar, s, u)


def compute_block_dao(
    parent: DaoData, primary_issuance: int, occupied_in: int, occupied_out: int
) -> DaoData:
    """C_i = C_p + p_i + s_i; U_i = U_p + U_out − U_in; AR and S unchanged (no secondary yet)."""
    c = parent.c + primary_issuance
    u = parent.u + occupied_out - occupied_in
    if c >= _U64 or not 0 <= u < _U64:
        raise CapacityOverflow("dao field overflows u64")
    return DaoData(c, parent.ar, parent.s, u)
