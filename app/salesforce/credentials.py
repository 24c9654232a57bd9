"""Salesforce credentials by alias: secrets in the keyring, everything else in HOME/config.toml.

The secrets of one alias are one JSON blob in the keyring under service `warroom-salesforce`, so they are
written and deleted together. The non-secret parts (login kind, username, consumer key, domain, instance
URL, CA file) are kept in the workspace config: they name the account and the org, which the responder and
the journal need to see without unlocking anything. Every secret is registered with `app.redaction` the
moment it is read or typed, so no later output (screen, journal, logs, exports, crash reports) can show it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base import keystore
from app.base.config import LoginKind, OrgConfig, load_config, save_config
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.base.redaction import register_secret
from app.salesforce import access
from app.salesforce.access import NeedCheck

if TYPE_CHECKING:
    from app.salesforce.client import OrgCredentials

SERVICE = "warroom-salesforce"
RESERVED_ALIASES = frozenset({"sim"})  # `--org sim` is the simulated org's built-in demo login
KINDS: tuple[LoginKind, ...] = ("password", "jwt", "client_credentials", "session")
# The secret fields of each kind, in the order they are prompted for (and read from piped input).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "password": ("password", "security_token"),
    "jwt": ("private_key",),
    "client_credentials": ("consumer_secret",),
    "session": ("session_id",),
}
# Secrets that may legitimately be empty (no token when logging in from a trusted IP range).
OPTIONAL_SECRETS = frozenset({"security_token"})
SECRET_LABELS = {
    "password": "password",
    "security_token": "security token (empty if the org trusts this IP)",
    "private_key": "private key (PEM)",
    "consumer_secret": "consumer secret",
    "session_id": "session id",
}
_ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DOMAIN_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$"
)


class CredentialSummary(BaseModel):
    """What `creds list` shows: no secret, and nothing that needs the keyring unlocked."""

    alias: str
    kind: LoginKind
    store: str


@dataclass(frozen=True)
class StoredCredentials:
    """An alias with its settings and its secrets, as read back from config and keyring."""

    alias: str
    org: OrgConfig
    secrets: dict[str, str]


# -- validation --------------------------------------------------------------------------------------------


def check_alias(alias: str, *, allow_reserved: bool = False) -> str:
    alias = alias.strip()
    if not _ALIAS_RE.match(alias):
        raise UsageError(
            f"alias {alias!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if not allow_reserved and alias.lower() in RESERVED_ALIASES:
        raise UsageError(f"alias {alias!r} is reserved for the simulated org's demo login; choose another name")
    return alias


def normalize_domain(domain: str | None) -> str | None:
    """`login`, `test`, a My Domain prefix such as `acme.my` (a full host or URL is trimmed to that), or another
    login host with its port (a simulated org's 127.0.0.1:PORT)."""
    if domain is None:
        return None
    text = domain.strip().lower()
    text = re.sub(r"^https?://", "", text).rstrip("/")
    text = re.sub(r"\.salesforce\.com$", "", text)
    if not _DOMAIN_RE.match(text):
        raise UsageError(f"--domain {domain!r}: expected login, test or a My Domain such as acme.my")
    return text


def normalize_instance_url(url: str | None) -> str | None:
    if url is None:
        return None
    text = url.strip().rstrip("/")
    if not re.match(r"^https://[^\s/?#]+(?:/[^\s?#]*)?$", text):
        raise UsageError(f"--instance-url {url!r}: expected an https:// URL such as https://acme.my.salesforce.com")
    if re.search(r"[?#@]", text):
        raise UsageError("--instance-url must not carry a query, fragment or user info")
    return text


def normalize_ca(path: str | Path | None) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        raise UsageError(f"--ca {path}: no such file (the CA certificate the org's TLS certificate chains to)")
    return str(p.resolve())


def check_org(org: OrgConfig) -> None:
    """The non-secret fields each login kind needs (mirrors what simple-salesforce requires)."""
    missing: list[str] = []
    if org.kind in ("password", "jwt") and not org.username:
        missing.append("--username")
    if org.kind in ("jwt", "client_credentials") and not org.consumer_key:
        missing.append("--consumer-key")
    if org.kind == "session" and not org.instance_url:
        missing.append("--instance-url")
    if missing:
        raise UsageError(f"a {org.kind} login needs {' and '.join(missing)}")
    if org.kind == "client_credentials" and (org.domain or "login") in ("login", "test") and not org.instance_url:
        raise UsageError("client credentials log in at the org's My Domain: pass --domain MYDOMAIN.my")


def check_secrets(kind: str, secrets: dict[str, str]) -> dict[str, str]:
    want = SECRET_FIELDS[kind]
    unknown = set(secrets) - set(want)
    if unknown:
        raise UsageError(f"a {kind} login takes no {', '.join(sorted(unknown))}")
    out: dict[str, str] = {}
    for name in want:
        value = secrets.get(name, "")
        if not value and name not in OPTIONAL_SECRETS:
            raise UsageError(f"the {SECRET_LABELS[name]} is empty")
        if any(c in value for c in "\r\n") and name != "private_key":
            raise UsageError(f"the {SECRET_LABELS[name]} spans several lines")
        out[name] = value
    if kind == "jwt":
        out["private_key"] = check_private_key(out["private_key"])
    return out


def check_private_key(pem: str) -> str:
    """A PEM private key that loads, without a passphrase (the JWT flow signs unattended)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = pem.strip() + "\n"
    try:
        load_pem_private_key(text.encode(), password=None)
    except TypeError:
        raise UsageError(
            "the private key is encrypted; store an unencrypted key (it is protected by the keyring)"
        ) from None
    except ValueError:
        raise UsageError("the private key is not a PEM private key") from None
    return text


def register(secrets: dict[str, str]) -> None:
    """Mask every secret (and every line of a PEM key) in all later output of this process."""
    for value in secrets.values():
        register_secret(value)
        if "\n" in value:
            for line in value.splitlines():
                if len(line) >= 16 and not line.startswith("-----"):
                    register_secret(line)


# -- the store ---------------------------------------------------------------------------------------------


def _existing(ctx: Any, alias: str) -> OrgConfig | None:
    return load_config(ctx.home).orgs.get(alias)


def _entry(ctx: Any, alias: str) -> OrgConfig:
    config = load_config(ctx.home)
    org = config.orgs.get(alias)
    if org is None:
        known = ", ".join(sorted(config.orgs)) or "none yet"
        raise NotFoundError(
            f"no credentials named {alias!r} (stored: {known}); add them with `warroom creds set {alias}`"
        )
    return org


def backend_for(ctx: Any, org: OrgConfig | None = None, *, file_flag: bool = False) -> Any:
    """The keyring holding an alias's secrets: as recorded for it, or for a new alias the opt-in choice."""
    return keystore.resolve(ctx, org.store if org else None, file_flag=file_flag)


def store_credentials(
    ctx: Any, alias: str, org: OrgConfig, secrets: dict[str, str], *, backend: Any | None = None
) -> OrgConfig:
    """Write the secrets to the keyring first, then the settings, so config never names a missing secret."""
    alias = check_alias(alias)
    check_org(org)
    secrets = check_secrets(org.kind, secrets)
    register(secrets)
    backend = backend or backend_for(ctx)
    org = org.model_copy(update={"store": keystore.store_label(backend)})
    blob = json.dumps({"version": 1, "kind": org.kind, **secrets}, separators=(",", ":"))
    with keystore.keyring_errors(backend, f"storing the credentials for {alias!r}"):
        backend.set_password(SERVICE, alias, blob)
    config = load_config(ctx.home)
    previous = config.orgs.get(alias)
    config.orgs[alias] = org
    save_config(ctx.home, config)
    if previous is not None and previous.store != org.store:
        _forget_old_copy(ctx, alias, previous)
    return org


def _forget_old_copy(ctx: Any, alias: str, previous: OrgConfig) -> None:
    """The alias moved to the encrypted file: remove the copy left in the platform keyring (best effort)."""
    from keyring.errors import KeyringError

    if previous.store != "keyring":
        return
    try:
        old = keystore.platform_keyring(ctx)
        old.delete_password(SERVICE, alias)
    except (KeyringError, WarroomError, RuntimeError, OSError):
        ctx.error(f"note: the old copy of {alias!r} in the platform keyring could not be removed; remove it by hand")


def read_credentials(ctx: Any, alias: str) -> StoredCredentials:
    """Settings and secrets of `alias`; every secret is registered for redaction as it is read."""
    alias = check_alias(alias)
    org = _entry(ctx, alias)
    backend = backend_for(ctx, org)
    with keystore.keyring_errors(backend, f"reading the credentials for {alias!r}"):
        blob = backend.get_password(SERVICE, alias)
    if blob is None:
        raise NotFoundError(
            f"the keyring ({keystore.backend_name(backend)}) holds no secret for {alias!r}; "
            f"store it again with `warroom creds set {alias}`"
        )
    register_secret(blob)
    try:
        data = json.loads(blob)
    except ValueError:
        raise WarroomError(f"the keyring entry for {alias!r} is damaged; store it again") from None
    if not isinstance(data, dict):
        raise WarroomError(f"the keyring entry for {alias!r} is damaged; store it again")
    secrets = {k: v for k, v in data.items() if k in SECRET_FIELDS.get(org.kind, ()) and isinstance(v, str)}
    register(secrets)
    if data.get("kind") != org.kind:
        raise WarroomError(
            f"the keyring holds a {data.get('kind')} login for {alias!r} but config.toml says "
            f"{org.kind}; store it again with `warroom creds set {alias}`"
        )
    return StoredCredentials(alias, org, secrets)


def load_credentials(ctx: Any, alias: str) -> OrgCredentials:
    """The `app.salesforce.OrgCredentials` for `alias`, ready for `Org.login`."""
    stored = read_credentials(ctx, alias)
    return to_org_credentials(stored)


def to_org_credentials(stored: StoredCredentials) -> OrgCredentials:
    from pydantic import ValidationError

    from app.salesforce.client import OrgCredentials

    org = stored.org
    fields: dict[str, Any] = {
        "kind": org.kind,
        "alias": stored.alias,
        "username": org.username,
        "consumer_key": org.consumer_key,
        "domain": org.domain,
        "instance_url": org.instance_url,
        "ca": org.ca,
        **stored.secrets,
    }
    try:
        return OrgCredentials(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:  # inputs hidden from the message (hide_input_in_errors)
        reason = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
        raise UsageError(
            f"the credentials for {stored.alias!r} are incomplete: {reason}; store them again with "
            f"`warroom creds set {stored.alias}`"
        ) from None


class LoginCheck(BaseModel):
    """The outcome of `creds test`: who and where the alias logs in as, or why it cannot."""

    alias: str
    kind: str
    ok: bool
    username: str | None = None
    user_id: str | None = None
    org_id: str | None = None
    org_name: str | None = None
    instance_url: str | None = None
    reason: str | None = None
    # What containment needs and whether this login has it (app/salesforce/access.py); empty when not read.
    permissions: list[NeedCheck] = []
    permissions_complete: bool | None = None
    permission_notes: list[str] = []


def check_login(ctx: Any, alias: str) -> LoginCheck:
    """Log in with the stored credentials and ask the org who we are and what containment permissions the
    login has. Keyring problems raise; login failures (wrong password, unreachable org, untrusted
    certificate) come back as `ok=False` with the reason."""
    from app.salesforce.client import Org

    stored = read_credentials(ctx, alias)
    try:
        org = Org.login(to_org_credentials(stored))
        who = org.identity()
    except WarroomError as exc:
        return LoginCheck(alias=alias, kind=stored.org.kind, ok=False, reason=str(exc))
    checks: list[NeedCheck] = []
    complete: bool | None = None
    notes: list[str] = []
    try:
        effective = access.read_effective(org, who.user_id)
        checks, complete, notes = effective.check(access.CONTAINMENT_NEEDS), effective.complete, effective.notes
    except WarroomError as exc:
        notes = [f"the login's permissions could not be read: {exc}"]
    finally:
        org.close()  # logs out
    return LoginCheck(
        permissions=checks,
        permissions_complete=complete,
        permission_notes=notes,
        alias=alias,
        kind=stored.org.kind,
        ok=True,
        username=who.username,
        user_id=who.user_id,
        org_id=who.org_id,
        org_name=who.org_name,
        instance_url=who.instance_url,
    )


def list_credentials(ctx: Any) -> list[CredentialSummary]:
    config = load_config(ctx.home)
    return [CredentialSummary(alias=a, kind=o.kind, store=o.store) for a, o in sorted(config.orgs.items())]


def delete_credentials(ctx: Any, alias: str) -> bool:
    """Remove the keyring entry and the settings; False when the alias was not stored at all."""
    alias = check_alias(alias)
    from keyring.errors import PasswordDeleteError

    config = load_config(ctx.home)
    org = config.orgs.get(alias)
    if org is not None:
        backend = backend_for(ctx, org)
    else:  # a stray keyring entry (config lost): clean it up if the platform keyring is there
        try:
            backend = keystore.platform_keyring(ctx)
        except keystore.KeyringUnavailable:
            return False
    removed = False
    with keystore.keyring_errors(backend, f"deleting the credentials for {alias!r}"):
        try:
            backend.delete_password(SERVICE, alias)
            removed = True
        except PasswordDeleteError:
            pass
    if org is not None:
        del config.orgs[alias]
        save_config(ctx.home, config)
        removed = True
    return removed
