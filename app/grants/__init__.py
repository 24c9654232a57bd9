"""Just-in-time integration access: a permission set (or permission set group) given to an integration user for
a stated time (PermissionSetAssignment.ExpirationDate), with a reason and a named approver, through
containment's plan, approval, intent, result and verification path (app/containment), and grants checked again
by query once they should have lapsed or been removed.

Layout: `planning` (the plan of one grant), `applying` (the named approver's approval, then containment's run),
`listing` (the grants read back from the journal, their check against the org, and the ones expiring soon).
"""

from __future__ import annotations

from app.grants.applying import apply_grant, approve_grant, revoke_grant
from app.grants.listing import (
    CHECK_KIND,
    Grant,
    GrantCheck,
    check_grants,
    expiring_grants,
    list_grants,
    project_check,
)
from app.grants.planning import ACTION, plan_grant

__all__ = [
    "ACTION",
    "CHECK_KIND",
    "Grant",
    "GrantCheck",
    "apply_grant",
    "approve_grant",
    "check_grants",
    "expiring_grants",
    "list_grants",
    "plan_grant",
    "project_check",
    "revoke_grant",
]
