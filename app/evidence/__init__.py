"""The evidence store (store) and reading preserved evidence back as rows (rows)."""
