"""EIP-7594 reconstruction: any node holding at least half of a blob's 128 cells can rebuild
every cell and proof (``recover_cells_and_kzg_proofs``), and so the blob itself, which is the
first 64 cells of the extended blob; fewer cells, or a tampered cell, are refused."""

from __future__ import annotations

import random
from typing import Any

import pytest

from l1.core.blobs import (
    BYTES_PER_BLOB,
    CELLS_PER_EXT_BLOB,
    compute_blob_sidecar,
    compute_cells_and_proofs,
    pack_data_into_blobs,
    recover_cells,
    unpack_data_from_blobs,
    verify_cells,
)
from l1.core.errors import InvalidCellProof
from l1.kzg import get_kzg_settings

HALF = CELLS_PER_EXT_BLOB // 2
DATA = bytes(random.Random(7594).randrange(256) for _ in range(50_000)) + b"rollcourt batch"


@pytest.fixture(scope="module")
def settings() -> Any:
    return get_kzg_settings()


@pytest.fixture(scope="module")
def blob() -> bytes:
    return pack_data_into_blobs(DATA)[0]


@pytest.fixture(scope="module")
def extended(blob: bytes, settings: Any) -> tuple[bytes, list[bytes], list[bytes]]:
    sidecar = compute_blob_sidecar(blob, settings)
    cells, proofs = compute_cells_and_proofs(blob, settings)
    return sidecar.commitment, cells, proofs


def test_first_half_of_the_extended_blob_is_the_blob(
    blob: bytes, extended: tuple[bytes, list[bytes], list[bytes]]
) -> None:
    _, cells, _ = extended
    assert len(cells) == CELLS_PER_EXT_BLOB
    assert b"".join(cells[:HALF]) == blob
    assert len(b"".join(cells)) == 2 * BYTES_PER_BLOB


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_half_of_the_cells_recovers_the_blob(
    seed: int, blob: bytes, extended: tuple[bytes, list[bytes], list[bytes]], settings: Any
) -> None:
    commitment, cells, proofs = extended
    kept = sorted(random.Random(seed).sample(range(CELLS_PER_EXT_BLOB), HALF))
    assert kept != list(range(HALF)), "the test must drop some cells of the blob itself"
    recovered_cells, recovered_proofs = recover_cells(kept, [cells[i] for i in kept], settings)
    assert recovered_cells == cells
    assert recovered_proofs == proofs
    rebuilt = b"".join(recovered_cells[:HALF])
    assert rebuilt == blob
    assert unpack_data_from_blobs([rebuilt]) == DATA
    # The recovered cells verify against the original commitment (sample a few everywhere).
    check = [0, 17, 63, 64, 100, 127]
    verify_cells(
        commitment,
        check,
        [recovered_cells[i] for i in check],
        [recovered_proofs[i] for i in check],
        settings,
    )


def test_the_extension_half_alone_recovers_the_blob(
    blob: bytes, extended: tuple[bytes, list[bytes], list[bytes]], settings: Any
) -> None:
    _, cells, _ = extended
    kept = list(range(HALF, CELLS_PER_EXT_BLOB))
    recovered, _ = recover_cells(kept, [cells[i] for i in kept], settings)
    assert b"".join(recovered[:HALF]) == blob


def test_fewer_than_half_the_cells_is_refused(
    extended: tuple[bytes, list[bytes], list[bytes]], settings: Any
) -> None:
    _, cells, _ = extended
    kept = sorted(random.Random(4).sample(range(CELLS_PER_EXT_BLOB), HALF - 1))
    with pytest.raises(InvalidCellProof, match="at least 64 distinct cells"):
        recover_cells(kept, [cells[i] for i in kept], settings)
    # Repeating a cell does not count twice.
    with pytest.raises(InvalidCellProof):
        recover_cells(kept + [kept[0]], [cells[i] for i in kept + [kept[0]]], settings)


def test_a_tampered_cell_fails_verification(
    extended: tuple[bytes, list[bytes], list[bytes]], settings: Any
) -> None:
    commitment, cells, proofs = extended
    indices = [3, 70, 111]
    verify_cells(
        commitment, indices, [cells[i] for i in indices], [proofs[i] for i in indices], settings
    )
    tampered = bytearray(cells[70])
    tampered[40] ^= 0x01  # byte 8 of field element 1: the element stays canonical
    bad_cells = [cells[3], bytes(tampered), cells[111]]
    with pytest.raises(InvalidCellProof, match="do not match the commitment"):
        verify_cells(commitment, indices, bad_cells, [proofs[i] for i in indices], settings)
    # A proof for another cell index does not verify either.
    with pytest.raises(InvalidCellProof):
        verify_cells(commitment, [3], [cells[3]], [proofs[4]], settings)
    # Nor does a cell checked against another blob's commitment.
    other = compute_blob_sidecar(pack_data_into_blobs(b"another blob")[0], settings)
    with pytest.raises(InvalidCellProof):
        verify_cells(other.commitment, [3], [cells[3]], [proofs[3]], settings)
