"""RFC 6962 / 9162 Merkle tree hashing, so standard transparency-log verifiers can check our roots.

The journal keeps a compact frontier (one perfect-subtree hash per set bit of the tree size) so the root is
O(log n) at any size: start-up and `journal head` do not grow with the journal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of a Merkle tree: level -> hash of a perfect subtree of 2**level leaves."""

    __slots__ = ("levels", "size")

    def __init__(self, levels: dict[int, bytes] | None = None, size: int = 0) -> None:
        self.levels: dict[int, bytes] = dict(levels or {})
        self.size = size

    def append(self, leaf: bytes) -> list[tuple[int, bytes | None]]:
        """Add a leaf hash; returns the (level, hash-or-None) changes so callers can persist them."""
        changes: list[tuple[int, bytes | None]] = []
        carry, level = leaf, 0
        while level in self.levels:
            carry = node_hash(self.levels.pop(level), carry)
            changes.append((level, None))
            level += 1
        self.levels[level] = carry
        changes.append((level, carry))
        self.size += 1
        return changes

    def root(self) -> bytes:
        if not self.levels:
            return EMPTY_ROOT
        acc: bytes | None = None
        for level in sorted(self.levels):
            h = self.levels[level]
            acc = h if acc is None else node_hash(h, acc)
        assert acc is not None
        return acc


def root_of(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def short_root(root: bytes) -> str:
    """20 hex characters (80 bits), grouped in fives so it can be read aloud."""
    h = root.hex()[:20]
    return "-".join(h[i : i + 5] for i in range(0, 20, 5))
