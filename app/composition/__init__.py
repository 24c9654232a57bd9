"""Composition: the projector registry (projections), verification with it (verification), the workspace of
incidents (workspace) and the per-command context (context)."""
