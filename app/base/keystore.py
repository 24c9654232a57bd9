"""Where secrets are kept: the platform keyring, or (only by explicit opt-in) a passphrase-encrypted file.

A headless machine often has no Secret Service, and `keyring` then quietly picks whatever is left, which
may be a plaintext file (keyrings.alt) or a backend that fails on every call. Warroom refuses both and says
how to fix it, rather than leaving the responder's most dangerous credentials readable on disk.

The opt-in file backend is ours rather than keyrings.alt's EncryptedKeyring: that one derives its key with
1,000 rounds of PBKDF2-SHA1, encrypts with unauthenticated AES-CFB, and prompts on its own terminal. This
one uses scrypt and AES-GCM (the `cryptography` package warroom already needs) and takes its passphrase
from warroom's own prompt or standard input.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringError, PasswordDeleteError

from app.base.errors import UsageError, WarroomError
from app.base.progress import is_terminal
from app.base.redaction import register_secret

ENV_VAR = "WARROOM_KEYRING"
ENV_FILE = "encrypted-file"
ENV_PLATFORM = ("", "platform", "auto")
FILE_NAME = "keyring.enc"
MIN_PASSPHRASE = 8

# Backends that store secrets unencrypted or not at all: never acceptable, whatever their priority.
_REFUSED_PREFIXES = (
    "keyring.backends.fail.",
    "keyring.backends.null.",
    "keyrings.alt.file.PlaintextKeyring",
    "keyrings.alt.Gnome.",  # legacy GnomeKeyring bindings: deprecated, not the Secret Service
)

HOW_TO_FIX = (
    "Fix it in one of two ways:\n"
    "  * unlock or start the platform keyring: on Linux a Secret Service (GNOME Keyring or KWallet; on a\n"
    "    server run `dbus-run-session -- sh -c 'gnome-keyring-daemon --unlock --components=secrets; ...'`),\n"
    "    on macOS the login Keychain, on Windows the Credential Locker;\n"
    "  * or opt in to a passphrase-protected encrypted file in the workspace with `--keyring-file`\n"
    f"    or `{ENV_VAR}={ENV_FILE}`.\n"
    "Warroom never stores credentials in plaintext."
)


class KeyringUnavailable(WarroomError):
    """No backend that can hold a secret safely; the message says how to get one."""


def backend_name(backend: Any) -> str:
    if backend is None:
        return "none"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def keyring_usable(backend: Any) -> bool:
    """True for a backend that really stores secrets, encrypted: not fail/null/plaintext, positive priority.

    A chainer counts when the backend it writes to (its first) is usable.
    """
    if backend is None:
        return False
    if isinstance(backend, EncryptedFileKeyring):
        return True
    name = backend_name(backend)
    if name.startswith(_REFUSED_PREFIXES):
        return False
    if isinstance(backend, ChainerBackend):
        try:
            chained = list(backend.backends)
        except Exception:
            return False
        return bool(chained) and keyring_usable(chained[0])
    try:
        return float(backend.priority) > 0
    except Exception:
        return False


def unavailable(backend: Any, detail: str = "") -> KeyringUnavailable:
    found = backend_name(backend)
    why = detail or (
        "it stores secrets in plaintext" if "Plaintext" in found else "it cannot store secrets on this machine"
    )
    return KeyringUnavailable(f"no usable keyring: the platform offers {found}, and {why}.\n{HOW_TO_FIX}")


def file_opted_in(flag: bool = False) -> bool:
    """The explicit opt-in: `--keyring-file` or WARROOM_KEYRING=encrypted-file."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value not in (*ENV_PLATFORM, ENV_FILE):
        raise UsageError(f"{ENV_VAR}={value!r} is not understood; use {ENV_FILE!r} or 'platform'")
    return flag or value == ENV_FILE


def file_path(home: Path) -> Path:
    return home / FILE_NAME


def platform_keyring(ctx: Any) -> Any:
    """The injected or platform backend, or KeyringUnavailable explaining the fix."""
    try:
        backend = ctx.get_keyring()
    except Exception as exc:
        raise unavailable(None, f"loading it failed ({type(exc).__name__}: {exc})") from None
    if not keyring_usable(backend):
        raise unavailable(backend)
    return backend


def encrypted_file_keyring(ctx: Any) -> EncryptedFileKeyring:
    """The workspace's encrypted file, asking for its passphrase on first use.

    Cached on the context beside (never instead of) `ctx.keyring`, so one command asks once and the
    platform keyring stays what it was.
    """
    if isinstance(ctx.keyring, EncryptedFileKeyring):
        return ctx.keyring
    backend = getattr(ctx, "_encrypted_file_keyring", None)
    if not isinstance(backend, EncryptedFileKeyring) or backend.path != file_path(ctx.home):
        backend = EncryptedFileKeyring(file_path(ctx.home), passphrase_source(ctx.stdin, ctx.stderr))
        ctx._encrypted_file_keyring = backend
    return backend


def resolve(ctx: Any, store: str | None = None, *, file_flag: bool = False) -> Any:
    """The backend for a secret: `store` as recorded for it ("keyring" / "encrypted-file"), else the opt-in."""
    if store == ENV_FILE or (store is None and file_opted_in(file_flag)):
        return encrypted_file_keyring(ctx)
    return platform_keyring(ctx)


def store_label(backend: Any) -> str:
    return ENV_FILE if isinstance(backend, EncryptedFileKeyring) else "keyring"


@contextlib.contextmanager
def keyring_errors(backend: Any, what: str) -> Iterator[None]:
    """Turn backend failures (locked collection, no D-Bus, denied) into one actionable line."""
    try:
        yield
    except WarroomError:
        raise
    except (KeyringError, RuntimeError, OSError) as exc:
        detail = f"{what} failed in {backend_name(backend)} ({type(exc).__name__}: {exc})"
        raise KeyringUnavailable(f"{detail}.\n{HOW_TO_FIX}") from None
    except Exception as exc:  # secretstorage/jeepney raise their own types when the bus or collection is gone
        if type(exc).__module__.split(".")[0] in {"secretstorage", "jeepney", "dbus"}:
            raise KeyringUnavailable(
                f"{what} failed in {backend_name(backend)} ({type(exc).__name__}).\n{HOW_TO_FIX}"
            ) from None
        raise


# -- passphrases -----------------------------------------------------------------------------------------


def read_line(stream: TextIO, what: str) -> str:
    """One line from a non-interactive stream, for scripts and tests that pipe secrets in."""
    line = stream.readline()
    if not line:
        raise UsageError(f"standard input ended before the {what}")
    return line.rstrip("\r\n")


def passphrase_source(stdin: TextIO, stderr: TextIO) -> Callable[[bool, str], str]:
    """Prompt without echo on a terminal; otherwise read the next line of standard input."""

    def ask(creating: bool, where: str) -> str:
        interactive = is_terminal(stdin)
        if not interactive:
            return read_line(stdin, "keyring passphrase")
        first = getpass.getpass(f"Passphrase for {where}: ")
        if creating:
            again = getpass.getpass("Repeat the passphrase: ")
            if again != first:
                raise UsageError("the passphrases do not match")
        return first

    return ask


# -- the encrypted file ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


class EncryptedFileKeyring(KeyringBackend):
    """A keyring in one JSON file: scrypt-derived key, each value sealed with AES-256-GCM.

    The service and username are the associated data, so a value cannot be moved to another name.
    A check value sealed at creation tells a wrong passphrase from a damaged entry. Never chosen
    automatically (negative priority): only `keystore.resolve` builds it, on explicit opt-in.
    """

    priority = -1
    SCRYPT_N = 2**15
    CHECK = b"warroom encrypted keyring"

    def __init__(self, path: Path, passphrase: Callable[[bool, str], str], *, scrypt_n: int | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self._passphrase = passphrase
        self._scrypt_n = scrypt_n or self.SCRYPT_N
        self._key: bytes | None = None

    def __repr__(self) -> str:
        return f"<EncryptedFileKeyring at {self.path}>"

    # the file -----------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any] | None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise WarroomError(f"{self.path} is unreadable ({type(exc).__name__}); restore it from backup") from None
        if not isinstance(doc, dict) or doc.get("format") != "warroom-encrypted-keyring" or doc.get("version") != 1:
            raise WarroomError(f"{self.path} is not a warroom encrypted keyring (version 1)")
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=self.path.parent)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _derive(self, passphrase: str, kdf: dict[str, Any]) -> bytes:
        return Scrypt(salt=_unb64(kdf["salt"]), length=32, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])).derive(
            passphrase.encode("utf-8")
        )

    def unlock(self) -> None:
        """Ask for the passphrase now (creating the file on first use), so later prompts come in order."""
        if self._key is not None:
            return
        doc = self._read()
        creating = doc is None
        passphrase = self._passphrase(creating, f"the warroom encrypted keyring {self.path}")
        if creating and len(passphrase) < MIN_PASSPHRASE:
            raise UsageError(f"the keyring passphrase needs at least {MIN_PASSPHRASE} characters")
        if not passphrase:
            raise UsageError("an empty passphrase cannot unlock the keyring")
        register_secret(passphrase)
        if doc is None:
            kdf = {"name": "scrypt", "n": self._scrypt_n, "r": 8, "p": 1, "salt": _b64(os.urandom(16))}
            key = self._derive(passphrase, kdf)
            doc = {
                "format": "warroom-encrypted-keyring",
                "version": 1,
                "kdf": kdf,
                "check": self._seal(key, self.CHECK, b"check"),
                "entries": [],
            }
            self._write(doc)
        else:
            key = self._derive(passphrase, doc["kdf"])
            try:
                self._open(key, doc["check"], b"check")
            except InvalidTag:
                raise WarroomError(f"wrong passphrase for {self.path}") from None
        self._key = key

    @staticmethod
    def _seal(key: bytes, plaintext: bytes, aad: bytes) -> dict[str, str]:
        nonce = os.urandom(12)
        return {"nonce": _b64(nonce), "ct": _b64(AESGCM(key).encrypt(nonce, plaintext, aad))}

    @staticmethod
    def _open(key: bytes, sealed: dict[str, str], aad: bytes) -> bytes:
        return AESGCM(key).decrypt(_unb64(sealed["nonce"]), _unb64(sealed["ct"]), aad)

    @staticmethod
    def _aad(service: str, username: str) -> bytes:
        return json.dumps([service, username]).encode()

    def _loaded(self) -> tuple[dict[str, Any], bytes]:
        self.unlock()
        doc = self._read()
        if doc is None:
            raise WarroomError(f"{self.path} disappeared while in use")
        assert self._key is not None
        return doc, self._key

    # keyring API --------------------------------------------------------------------------------

    def get_password(self, service: str, username: str) -> str | None:
        doc, key = self._loaded()
        for item in doc["entries"]:
            if item["service"] == service and item["username"] == username:
                try:
                    return self._open(key, item, self._aad(service, username)).decode("utf-8")
                except InvalidTag:
                    raise WarroomError(f"the entry {service}/{username} in {self.path} is damaged") from None
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        doc, key = self._loaded()
        entries = [e for e in doc["entries"] if not (e["service"] == service and e["username"] == username)]
        entries.append(
            {
                "service": service,
                "username": username,
                **self._seal(key, password.encode("utf-8"), self._aad(service, username)),
            }
        )
        doc["entries"] = entries
        self._write(doc)

    def delete_password(self, service: str, username: str) -> None:
        doc, _key = self._loaded()
        kept = [e for e in doc["entries"] if not (e["service"] == service and e["username"] == username)]
        if len(kept) == len(doc["entries"]):
            raise PasswordDeleteError(f"{service}/{username} is not in {self.path}")
        doc["entries"] = kept
        self._write(doc)
