"""Ed25519 checkpoint keys and C2SP signed notes.

Each incident gets its own key at creation. The private key goes to the OS keyring when a usable backend
exists; otherwise to `signing.key` (mode 0600) in the incident directory, and the genesis entry records
which, so an auditor knows how much weight a signature carries.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.base.errors import WarroomError
from app.base.keystore import keyring_usable  # one definition of "usable": no fail, null or plaintext backends

KEYRING_SERVICE = "warroom-checkpoint-key"


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _private_raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def store_key(key: Ed25519PrivateKey, journal_id: str, incident_dir: Path, backend) -> str:
    """Persist the private key; returns where ("keyring" or "file")."""
    raw = _private_raw(key).hex()
    if keyring_usable(backend):
        try:
            backend.set_password(KEYRING_SERVICE, journal_id, raw)
            return "keyring"
        except Exception:
            pass
    path = incident_dir / "signing.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(raw + "\n")
    return "file"


def load_key(journal_id: str, incident_dir: Path, key_store: str, backend) -> Ed25519PrivateKey:
    raw: str | None = None
    if key_store == "keyring":
        if not keyring_usable(backend):
            raise WarroomError("the checkpoint key is in the OS keyring, which is not available now; unlock it")
        raw = backend.get_password(KEYRING_SERVICE, journal_id)
    else:
        path = incident_dir / "signing.key"
        if path.exists():
            raw = path.read_text().strip()
    if not raw:
        raise WarroomError(f"checkpoint key for journal {journal_id} not found ({key_store})")
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(raw))


def key_id(name: str, public: bytes) -> bytes:
    """C2SP signed-note key id: first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public).digest()[:4]


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(text: str, origin: str, key: Ed25519PrivateKey) -> str:
    pub = bytes.fromhex(public_hex(key))
    sig = key.sign(text.encode())
    return f"{text}\n\u2014 {origin} {base64.b64encode(key_id(origin, pub) + sig).decode()}\n"


def verify_note(note: str, origin: str, public_hex_: str) -> bool:
    """True when the note carries a valid signature by `public_hex_` under `origin`."""
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        return False
    text += "\n"
    pub = bytes.fromhex(public_hex_)
    want_id = key_id(origin, pub)
    verifier = Ed25519PublicKey.from_public_bytes(pub)
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != origin:
            continue
        try:
            blob = base64.b64decode(parts[2])
        except ValueError:
            continue
        if blob[:4] != want_id:
            continue
        try:
            verifier.verify(blob[4:], text.encode())
            return True
        except InvalidSignature:
            return False
    return False


def fingerprint(public_hex_: str) -> str:
    """A short, printable fingerprint of a public key: bound into the genesis and every checkpoint."""
    try:
        raw = bytes.fromhex(public_hex_)
    except (TypeError, ValueError):  # an altered genesis: matches no fingerprint
        return "not-a-key"
    return hashlib.sha256(raw).hexdigest()[:32]


def held_public_keys(journal_id: str, incident_dir: Path, backend) -> list[tuple[str, str]]:
    """The public keys the incident holds outside its journal: (where, public hex) for its signing.key file
    and its keyring entry, whichever exist (a replaced journal cannot replace these without being seen)."""
    out: list[tuple[str, str]] = []
    path = incident_dir / "signing.key"
    try:
        raw = path.read_text().strip() if path.is_file() else ""
        if raw:
            out.append((str(path), public_hex(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(raw)))))
    except (OSError, ValueError):
        out.append((str(path), "unreadable"))
    if backend is not None and keyring_usable(backend):
        try:
            raw = backend.get_password(KEYRING_SERVICE, journal_id) or ""
        except Exception:
            raw = ""
        if raw:
            try:
                out.append(("the keyring entry", public_hex(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(raw)))))
            except ValueError:
                out.append(("the keyring entry", "unreadable"))
    return out
