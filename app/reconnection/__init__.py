"""Bringing a contained integration back: a reconnect plan per integration that checks its preconditions from the
journal and the latest inventory snapshot (secret rotated, a new least-privilege user, the app's policies
hardened, monitoring running), and the approval of someone other than the person who planned it.

Layout: `preconditions` (each check, with what it was judged from) and `plans` (the journaled plan, its approval,
the projector and the typed reader).
"""

from __future__ import annotations

from app.reconnection.plans import (
    APPROVAL_KIND,
    PLAN_KIND,
    Reconnect,
    approve_reconnect,
    plan_reconnect,
    project,
    reconnects,
)
from app.reconnection.preconditions import Precondition, check_preconditions

__all__ = [
    "APPROVAL_KIND",
    "PLAN_KIND",
    "Precondition",
    "Reconnect",
    "approve_reconnect",
    "check_preconditions",
    "plan_reconnect",
    "project",
    "reconnects",
]
