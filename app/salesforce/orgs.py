"""Opening an org by the alias a responder types: `sim` (the simulated org's demo user) or stored credentials.

Core code (containment, forensics, exercises) and the commands share this one door, so every path logs in the
same way and names the same fixes when it cannot.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError

if TYPE_CHECKING:
    from app.salesforce.protocol import OrgClient


def open_org(ctx: Any, alias: str, *, instance_url: str | None = None, ca: Path | None = None) -> OrgClient:
    """Log in for `--org ALIAS`: `sim` is the simulated org's demo user, anything else a stored alias."""
    from app.salesforce.client import Org
    from app.salesforce.simlogin import SIM_ALIAS, sim_credentials

    if alias == SIM_ALIAS:
        if not instance_url or not ca:
            raise UsageError(
                "--org sim needs --instance-url https://127.0.0.1:PORT and --ca FILE (both printed by "
                "`warroom simorg serve`)"
            )
        return _kept(ctx, Org.login(sim_credentials(instance_url, ca)))
    if instance_url or ca:
        raise UsageError(
            "--instance-url and --ca go with --org sim; a stored alias keeps its own (`warroom creds set`)"
        )
    from app.salesforce.credentials import load_credentials

    return _kept(ctx, Org.login(load_credentials(ctx, alias)))


def _kept(ctx: Any, org: OrgClient) -> OrgClient:
    """Remember the login on the command's context, which logs it out when the command ends."""
    opened = getattr(ctx, "orgs", None)
    if isinstance(opened, list):
        opened.append(org)
    return org
