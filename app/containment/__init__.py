"""Containment: models, planning, approval and apply, execution, plan storage and the offline runbook."""
