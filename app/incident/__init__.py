"""One incident: its journal and evidence store opened together (core) and its journaled settings (settings)."""
