"""`warroom creds set|list|delete|test`: Salesforce credentials by alias, kept in the keyring.

Secrets are never taken from the command line (it shows in `ps` and shell history): on a terminal they are
prompted for without echo; when standard input is piped they are read from it, one per line, in the order
`creds set --help` gives (after the keyring passphrase when the encrypted file is used).
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from app.base import keystore
from app.base.config import OrgConfig
from app.base.errors import UsageError, WarroomError
from app.base.files import read_text_limited
from app.base.progress import is_terminal
from app.composition.context import Context
from app.salesforce import credentials as creds

_SET_EPILOG = (
    "secrets are prompted for without echo; piped, they are read one per line in this order:\n"
    "  password:            password, security token (an empty line if none)\n"
    "  jwt:                 the PEM private key, unless --key-file is given\n"
    "  client_credentials:  consumer secret\n"
    "  session:             session id\n"
    "with the encrypted-file keyring, its passphrase comes first."
)


def register(sub: argparse._SubParsersAction) -> None:
    p_creds = sub.add_parser("creds", help="Salesforce credentials by alias, kept in the OS keyring")
    csub = p_creds.add_subparsers(dest="creds_command", metavar="SUBCOMMAND", required=True)

    p = csub.add_parser(
        "set",
        help="store credentials for an org under an alias (secrets prompted, no echo)",
        epilog=_SET_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("alias")
    p.add_argument("--kind", choices=creds.KINDS)
    p.add_argument("--domain", help="login, test, or your My Domain such as acme.my (default: login)")
    p.add_argument("--instance-url", help="https URL of the org (needed for a session id)")
    p.add_argument("--ca", type=Path, help="CA certificate to trust for this org (a simulated org's)")
    p.add_argument("--username")
    p.add_argument("--consumer-key", help="connected app consumer key (an identifier, not a secret)")
    p.add_argument("--key-file", type=Path, help="JWT private key file; its content goes into the keyring")
    _keyring_file_flag(p)
    p.set_defaults(handler=_run_set)

    p = csub.add_parser("list", help="stored aliases and their login kinds (no secrets)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_list)

    p = csub.add_parser("delete", help="remove an alias's secrets from the keyring and its settings")
    p.add_argument("alias")
    p.set_defaults(handler=_run_delete)

    p = csub.add_parser("test", help="log in with an alias and report the user and org, or why not")
    p.add_argument("alias")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_test)


def _keyring_file_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keyring-file",
        action="store_true",
        help=f"keep the secrets in a passphrase-encrypted file in the workspace instead of the OS "
        f"keyring (same as {keystore.ENV_VAR}={keystore.ENV_FILE})",
    )


class _Input:
    """Where typed values come from: a terminal (secrets without echo) or piped lines."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.interactive = is_terminal(ctx.stdin)

    def secret(self, label: str) -> str:
        if self.interactive:
            return getpass.getpass(f"{label[0].upper()}{label[1:]}: ")
        return keystore.read_line(self.ctx.stdin, label)

    def text(self, label: str, flag: str, default: str | None = None) -> str:
        if not self.interactive:
            if default is not None:
                return default
            raise UsageError(f"{flag} is required when standard input is not a terminal")
        shown = f" [{default}]" if default else ""
        self.ctx.stderr.write(f"{label}{shown}: ")
        self.ctx.stderr.flush()
        value = self.ctx.stdin.readline().strip()
        return value or (default or "")

    def pem(self) -> str:
        """A PEM block piped in: lines up to and including the END line."""
        lines: list[str] = []
        while True:
            line = self.ctx.stdin.readline()
            if not line:
                raise UsageError("standard input ended inside the private key")
            lines.append(line.rstrip("\r\n"))
            if lines[-1].startswith("-----END "):
                return "\n".join(lines) + "\n"


def _run_set(ctx: Context, args: argparse.Namespace) -> int:
    alias = creds.check_alias(args.alias)
    entry = creds._existing(ctx, alias)
    ask = _Input(ctx)
    kind = args.kind or ask.text(f"Login kind ({', '.join(creds.KINDS)})", "--kind", entry.kind if entry else None)
    if kind not in creds.KINDS:
        raise UsageError(f"login kind {kind!r}: choose one of {', '.join(creds.KINDS)}")
    org = OrgConfig(
        kind=kind,
        domain=creds.normalize_domain(args.domain),
        instance_url=creds.normalize_instance_url(args.instance_url),
        ca=creds.normalize_ca(args.ca),
        username=args.username,
        consumer_key=args.consumer_key,
    )
    if kind in ("password", "jwt") and not org.username:
        org.username = ask.text("Username", "--username").strip() or None
    if kind in ("jwt", "client_credentials") and not org.consumer_key:
        org.consumer_key = ask.text("Consumer key", "--consumer-key").strip() or None
    if kind == "session" and not org.instance_url:
        org.instance_url = creds.normalize_instance_url(ask.text("Instance URL", "--instance-url"))
    if kind == "client_credentials" and not org.domain and not org.instance_url:
        org.domain = creds.normalize_domain(ask.text("My Domain (such as acme.my)", "--domain"))
    creds.check_org(org)

    # The keyring first: with the encrypted file its passphrase is the first thing asked for or piped.
    # An alias keeps the store it has unless --keyring-file moves it to the encrypted file.
    keep = entry if entry is not None and not args.keyring_file and not keystore.file_opted_in() else None
    backend = creds.backend_for(ctx, keep, file_flag=args.keyring_file)
    if isinstance(backend, keystore.EncryptedFileKeyring):
        backend.unlock()

    secrets: dict[str, str] = {}
    key_file: Path | None = None
    for name in creds.SECRET_FIELDS[kind]:
        if name == "private_key":
            key_file = args.key_file
            if key_file is None and ask.interactive:
                key_file = Path(ask.text("Private key file (PEM)", "--key-file")).expanduser()
            secrets[name] = _read_key_file(key_file) if key_file else ask.pem()
        else:
            secrets[name] = ask.secret(creds.SECRET_LABELS[name])
        creds.register({name: secrets[name]})
    if args.key_file and kind != "jwt":
        raise UsageError("--key-file is only for a jwt login")

    stored = creds.store_credentials(ctx, alias, org, secrets, backend=backend)
    where = (
        f"the encrypted file {keystore.file_path(ctx.home)}"
        if stored.store == keystore.ENV_FILE
        else f"the keyring ({keystore.backend_name(backend)})"
    )
    ctx.print(f"stored {kind} credentials for {alias!r} in {where}; settings in {ctx.home / 'config.toml'}")
    if key_file:
        ctx.print(f"the private key is now in the keyring: you can delete {key_file}")
    return 0


def _read_key_file(path: Path) -> str:
    try:
        return read_text_limited(path, 1024 * 1024, "key file")
    except WarroomError as exc:
        raise UsageError(f"--key-file {exc}") from None


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    items = creds.list_credentials(ctx)
    if args.json:
        ctx.print_json([item.model_dump() for item in items])
        return 0
    if not items:
        ctx.print("no stored credentials; add some with `warroom creds set ALIAS`")
        return 0
    for item in items:
        ctx.print(f"{item.alias:<20}  {item.kind:<18}  {item.store}")
    return 0


def _run_delete(ctx: Context, args: argparse.Namespace) -> int:
    alias = creds.check_alias(args.alias)
    if not creds.delete_credentials(ctx, alias):
        ctx.error(f"no credentials named {alias!r}")
        return 2
    ctx.print(f"deleted the credentials for {alias!r}")
    return 0


def _run_test(ctx: Context, args: argparse.Namespace) -> int:
    result = creds.check_login(ctx, creds.check_alias(args.alias))
    if args.json:
        ctx.print_json(result)
    elif result.ok:
        ctx.print(
            f"ok: {result.alias} logs in as {result.username} ({result.user_id}) to {result.org_name} "
            f"({result.org_id}) at {result.instance_url}"
        )
        if result.permissions:
            ctx.print("containment permissions of this login:")
        for c in result.permissions:
            mark = {"present": "present", "missing": "MISSING", "unknown": "UNKNOWN"}[c.state]
            line = f"  {mark:<8} {c.label}: {c.what}"
            if c.state != "present":
                line += f" ({c.consequence})"
            ctx.print(line)
        for note in result.permission_notes:
            ctx.print(f"note: {note}")
    else:
        ctx.error(f"login with {result.alias!r} failed: {result.reason}")
    return 0 if result.ok else 1
