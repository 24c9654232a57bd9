"""The one redaction point: every output path (screen, CLI, logs, exports, errors) passes text through here.

Two defences: exact masking of secrets this process has handled (registered when read from the keyring),
and patterns for credential shapes that should never appear anywhere (session ids, keys, bearer tokens).
The journal uses `find_secrets` to refuse entries that carry a credential at all.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

MASK = "[REDACTED]"

# Field names whose string values are credentials. Compared on the lower-cased last path segment.
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "secret",
        "client_secret",
        "consumer_secret",
        "security_token",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "session_id",
        "sessionid",
        "sid",
        "private_key",
        "privatekey",
        "api_key",
        "apikey",
        "delete_token",
        "deletetoken",
        "authorization",
        "passphrase",
    }
)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("salesforce session id", re.compile(r"\b00D[0-9A-Za-z]{12,15}![0-9A-Za-z._]{20,}")),
    (
        "private key",
        re.compile(r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z ]+ )?PRIVATE KEY-----|$)"),
    ),
    ("aws access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}")),
    ("json web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)

_known_lock = threading.Lock()
_known: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret this process holds so any later output can mask it exactly."""
    if value and len(value) >= 4:
        with _known_lock:
            _known.add(value)


def forget_secrets() -> None:
    with _known_lock:
        _known.clear()


def redact(text: str) -> str:
    """Mask every known secret and every credential-shaped string in `text`."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for _name, pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def looks_secret(value: str) -> str | None:
    """Name the kind of credential `value` contains, or None."""
    with _known_lock:
        if any(k in value for k in _known):
            return "a stored credential"
    for name, pattern in _PATTERNS:
        if pattern.search(value):
            return name
    return None


def _walk(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{path}[{i}]")
    else:
        yield path, obj


def find_secrets(obj: Any) -> list[str]:
    """Paths in a JSON-like object whose values are, or are named as, credentials."""
    found: list[str] = []
    for path, value in _walk(obj, ""):
        if not isinstance(value, str) or not value:
            continue
        leaf = re.split(r"[.\[]", path)[-1].lower()
        if leaf in SECRET_KEYS:
            found.append(f"{path} (field named like a credential)")
            continue
        kind = looks_secret(value)
        if kind:
            found.append(f"{path} ({kind})")
    return found
