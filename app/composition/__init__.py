"""Composition: the projector registry, the workspace of incidents and the per-command context."""
