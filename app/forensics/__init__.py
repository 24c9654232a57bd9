"""Forensic collection: preserve what the org holds about the leak before it expires (collect)."""
