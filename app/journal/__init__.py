"""The evidence journal: the hash chain (chain), its Merkle tree (merkle), checkpoint signatures (signing) and
re-derivation (verify)."""
