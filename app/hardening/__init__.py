"""Hardening after containment, as plans: a connected app's OAuth policies, Transaction Security policies for
the anomalies seen, and debug-log hygiene, each a manual task with its exact Setup path, planned, approved and
closed with evidence through containment's path (`warroom contain apply`, `contain confirm`), and checked again
by query where the API can read the result (`check_hardening`, journaled as `harden.checked`).

Layout: `tasks` (the plan and its tasks) and `checking` (the verification queries).
"""

from __future__ import annotations

from app.hardening.checking import CHECK_KIND, CHECKS, check_detail, check_hardening
from app.hardening.tasks import ACTION, plan_hardening

__all__ = ["ACTION", "CHECKS", "CHECK_KIND", "check_detail", "check_hardening", "plan_hardening"]
