"""One incident: its journal and evidence store opened together (core), what the incident itself journals with its
projectors and typed readers (record), and its journaled settings (settings)."""
