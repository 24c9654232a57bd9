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

    def append_subtree(self, level: int, node: bytes, leaves: int) -> None:
        """Add the root of a perfect subtree of 2**level leaves; the tree's size must be a multiple of
        2**level (how a chunk of the chain, hashed on its own, joins the tree built before it)."""
        if self.size % (1 << level):
            raise ValueError(f"a subtree of level {level} cannot start at size {self.size}")
        carry = node
        while level in self.levels:
            carry = node_hash(self.levels.pop(level), carry)
            level += 1
        self.levels[level] = carry
        self.size += leaves

    def extend(self, levels: dict[int, bytes]) -> None:
        """Add the frontier of a run of leaves hashed on its own (largest subtree first)."""
        for level in sorted(levels, reverse=True):
            self.append_subtree(level, levels[level], 1 << level)

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


def subtree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete node of the tree over `leaves`, level by level (level 0 is the leaves themselves)."""
    sha256 = hashlib.sha256  # node_hash, inlined: this runs once per leaf when a whole chain is verified
    levels = [leaves]
    current = leaves
    while len(current) > 1:
        current = [sha256(b"\x01" + current[i] + current[i + 1]).digest() for i in range(0, len(current) - 1, 2)]
        levels.append(current)
    return levels


def frontier_after(levels: list[list[bytes]], size: int) -> dict[int, bytes]:
    """The frontier (level -> subtree hash) of the first `size` leaves, from `subtree_levels`."""
    return {level: levels[level][(size >> level) - 1] for level in range(len(levels)) if size >> level & 1}


def short_root(root: bytes) -> str:
    """20 hex characters (80 bits), grouped in fives so it can be read aloud."""
    h = root.hex()[:20]
    return "-".join(h[i : i + 5] for i in range(0, 20, 5))
