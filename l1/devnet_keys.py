"""Well-known devnet keys (like anvil's): derived from a public seed, so they are known to
everyone. NEVER use them, or anything they lock, outside a local devnet or tests."""

from __future__ import annotations

from dataclasses import dataclass

import coincurve

from l1.ckb.hashing import blake160, ckbhash

__all__ = ["DEVNET_KEYS", "DEVNET_KEY_WARNING", "DevnetKey", "derive_devnet_key"]

DEVNET_KEY_WARNING = (
    "These keys are PUBLIC (derived from a published seed). Never use them outside a devnet."
)
DEVNET_KEY_COUNT = 10
#: Capacity each prefunded devnet account holds: 20 million CKB.
DEVNET_KEY_CAPACITY = 20_000_000 * 100_000_000


@dataclass(frozen=True, slots=True)
class DevnetKey:
    index: int
    private_key: bytes
    public_key: bytes
    lock_args: bytes


def derive_devnet_key(index: int) -> DevnetKey:
    private_key = ckbhash(b"rollcourt devnet key " + str(index).encode())
    public_key = coincurve.PrivateKey(private_key).public_key.format(compressed=True)
    return DevnetKey(index, private_key, public_key, blake160(public_key))


DEVNET_KEYS = tuple(derive_devnet_key(i) for i in range(DEVNET_KEY_COUNT))
