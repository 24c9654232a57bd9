"""Simulated orgs for the tests: logging in to a running one as its seed's demo responder, the `--org sim`
arguments that reach it, and small seeds written to tmp_path, started over real TLS."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.base.clock import FrozenClock
from app.salesforce.client import Org, OrgCredentials
from app.simorg import SimOrg

NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
PASSWORD = "Sim-Password-1"
TOKEN = "SIMSECURITYTOKEN1"
CONSUMER_KEY = "3MVG9.test.consumer.key"
CONSUMER_SECRET = "test-consumer-secret-value"
RESPONDER = "responder@mini.example"
LIMITED = "limited@mini.example"


def demo_login(sim: SimOrg, **options: Any) -> Org:
    """The client, logged in over TLS as the running simulated org's demo responder; the adapter's bounded
    rate-limit retries do not really sleep unless `sleep` is given."""
    from app.salesforce.simlogin import sim_credentials

    options.setdefault("sleep", lambda _s: None)
    return Org.login(sim_credentials(sim.url, sim.ca_path), **options)


def sim_args(sim: SimOrg) -> tuple[str, ...]:
    """The `--org sim --instance-url URL --ca FILE` arguments that reach `sim` from a command."""
    return ("--org", "sim", "--instance-url", sim.url, "--ca", str(sim.ca_path))


@functools.cache
def rsa_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM) for the JWT bearer flow; made once per test run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def mini_seed(
    *,
    extra: str = "",
    generate: dict[str, int] | None = None,
    event_monitoring: bool = True,
    extra_permissions: list[str] | None = None,
) -> str:
    public = rsa_pair()[1]
    gen = "\n".join(f"{k} = {v}" for k, v in (generate or {}).items())
    perms = ", ".join(f'"{p}"' for p in (extra_permissions or []))
    return f'''
[organization]
name = "Mini Org"
my_domain = "mini"
now = 2025-08-20T09:00:00Z
event_monitoring = {str(event_monitoring).lower()}
extra_permissions = [{perms}]

[[profiles]]
key = "admin"
name = "System Administrator"
permissions = ["ModifyAllData", "ViewAllData", "ApiEnabled", "ManageUsers", "CustomizeApplication", "ViewSetup",
               "ViewEventLogFiles", "AssignPermissionSets"]

[[profiles]]
key = "std"
name = "Standard User"
permissions = ["ApiEnabled"]

[[profiles]]
key = "api"
name = "Minimum Access - API Only Integrations"
license = "Salesforce Integration"
permissions = ["ApiEnabled", "ApiUserOnly"]

[[permission_sets]]
key = "vad"
name = "Drift_View_All"
permissions = ["ViewAllData"]

[[permission_sets]]
key = "ops"
name = "Sales_Ops"
permissions = ["ExportReport"]

[[users]]
key = "me"
username = "{RESPONDER}"
first_name = "Riley"
last_name = "Responder"
profile = "admin"
password = "{PASSWORD}"
security_token = "{TOKEN}"

[[users]]
key = "limited"
username = "{LIMITED}"
last_name = "Limited"
profile = "std"
password = "{PASSWORD}"
security_token = "{TOKEN}"

[[users]]
key = "int"
username = "drift-int@mini.example"
last_name = "Integration"
profile = "api"
permission_sets = ["vad"]

[[connected_apps]]
key = "drift"
name = "Drift"

[[connected_apps]]
key = "responder"
name = "Warroom Responder"
consumer_key = "{CONSUMER_KEY}"
consumer_secret = "{CONSUMER_SECRET}"
run_as = "me"
jwt_public_key = """{public}"""

[[oauth_tokens]]
app = "drift"
user = "int"
created = 2025-03-01T00:00:00Z
last_used = 2025-08-18T00:00:00Z
use_count = 4000
count = 4

[[sessions]]
user = "int"
app = "drift"
created = 2025-08-20T08:00:00Z
source_ip = "185.220.101.33"

[[apex_logs]]
user = "int"
start = 2025-08-19T02:00:00Z
body = "USER_DEBUG|payload email maria@example.com card 4111 1111 1111 1111"

[[event_log_files]]
event_type = "BulkApi2"
log_date = 2025-08-17T00:00:00Z

[[event_log_files.rows]]
at = 2025-08-17T11:15:04Z
user = "int"
CLIENT_IP = "208.68.36.90"
JOB_ID = "7505e00000WarBulkAAA"
ENTITY_TYPE = "Case"
JOB_STATUS = "Deleted"

[[api_events]]
user = "int"
app = "drift"
at = 2025-08-12T09:41:10Z
ip = "208.68.36.90"
query = "SELECT COUNT() FROM Account"
entities = "Account"

[[login_history]]
user = "int"
at = 2025-08-12T09:40:00Z
ip = "208.68.36.90"
application = "Drift"

[[login_history]]
user = "int"
at = 2025-07-01T00:00:00Z
ip = "203.0.113.10"
application = "Drift"

[[records]]
sobject = "Case"
fields = {{ Subject = "AWS key", Description = "key AKIAIOSFODNN7EXAMPLE", Status = "Closed" }}

{extra}

[generate]
seed = 7
{gen}
'''


def start_sim(tmp_path: Path, name: str = "mini.toml", **kwargs: Any) -> SimOrg:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(mini_seed(**kwargs), encoding="utf-8")
    return SimOrg.start(path, clock=FrozenClock(NOW), cert_dir=tmp_path / "cert")


def creds(sim: SimOrg, kind: str = "password", **overrides: Any) -> OrgCredentials:
    base: dict[str, Any] = {"kind": kind, "alias": "sim", "instance_url": sim.url, "ca": str(sim.ca_path)}
    if kind == "password":
        base.update(username=RESPONDER, password=PASSWORD, security_token=TOKEN)
    elif kind == "jwt":
        base.update(username=RESPONDER, consumer_key=CONSUMER_KEY, private_key=rsa_pair()[0])
    elif kind == "client_credentials":
        base.update(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET)
    base.update(overrides)
    return OrgCredentials(**{k: v for k, v in base.items() if v is not None})


def login(sim: SimOrg, kind: str = "password", *, options: dict[str, Any] | None = None, **overrides: Any) -> Org:
    return Org.login(creds(sim, kind, **overrides), **(options or {}))


def setup_policies(sim: SimOrg, *, on: bool) -> None:
    """The two Transaction Security policies a hardening plan asks for, as an admin makes them in Setup (the
    simulated org's Metadata API components): enabled and blocking (`on`), or switched off and not blocking."""
    from app.hardening.components import POLICIES

    with sim.store.lock:
        for name, (event, _what) in POLICIES.items():
            sim.metadata.components[("TransactionSecurityPolicy", name)] = {
                "fullName": name,
                "action": {"block": on, "endSession": False, "freezeUser": False, "twoFactorAuthentication": False},
                "active": on,
                "eventName": event,
                "type": "CustomConditionBuilderPolicy",
            }
