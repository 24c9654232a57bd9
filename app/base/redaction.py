"""The one redaction point: every output path (screen, CLI, logs, exports, errors) passes text through here.

Two defences: exact masking of secrets this process has handled (registered when read from the keyring),
and patterns for credential shapes that should never appear anywhere (session ids, keys, bearer tokens).
The journal uses `find_secrets` to refuse entries that carry a credential at all.
`install()` routes logging, warnings and uncaught exceptions through `redact` as well; crash reports are
written by `app/base/crash.py` from redacted text.
"""

from __future__ import annotations

import html
import json
import logging
import re
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from types import TracebackType
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

SESSION_ID_RE = re.compile(r"\b00D[0-9A-Za-z]{12,15}![0-9A-Za-z._]{20,}")
AWS_KEY_RE = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
REFRESH_TOKEN_RE = re.compile(r"\b5Aep[0-9A-Za-z._]{40,}")

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("salesforce session id", SESSION_ID_RE),
    (
        "private key",
        re.compile(r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z ]+ )?PRIVATE KEY-----|$)"),
    ),
    ("aws access key", AWS_KEY_RE),
    ("bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=!-]{16,}")),
    ("json web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("salesforce refresh token", REFRESH_TOKEN_RE),
)

# Credentials recognised by their context rather than their shape: only the value (group "v") is masked.
# Output only: the journal does not refuse on these, since a field name alone proves nothing.
_SECRET_NAMES = (
    r"(?:password|passwd|client_secret|consumer_secret|security_token|access_token|refresh_token"
    r"|id_token|session_?id|sid|token|delete_?token|private_?key|api_?key|passphrase|secret)"
)
_CONTEXT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("basic credentials", re.compile(r"(?i)\bbasic\s+(?P<v>[A-Za-z0-9+/]{12,}={0,2})")),
    ("query parameter", re.compile(rf"(?i)[?&;]{_SECRET_NAMES}=(?P<v>[^&\s#\"'<>]+)")),
    ("quoted field", re.compile(rf"(?i)[\"']{_SECRET_NAMES}[\"']\s*[:=]\s*[\"'](?P<v>[^\"']+)[\"']")),
    ("xml element", re.compile(rf"(?i)<(?:\w+:)?{_SECRET_NAMES}>(?P<v>[^<]+)</")),
)

_known_lock = threading.Lock()
_known: set[str] = set()


def _encodings(value: str) -> set[str]:
    """The forms a secret takes on its way out: URL-encoded (OAuth forms), XML-escaped (SOAP), JSON-escaped."""
    return {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        html.escape(value, quote=False),
        html.escape(value),
        json.dumps(value)[1:-1],
    }


def register_secret(value: str | None) -> None:
    """Remember a secret this process holds so any later output can mask it exactly, in any common encoding."""
    if value and len(value) >= 4:
        with _known_lock:
            _known.update(_encodings(value))


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
    for _name, pattern in _CONTEXT_PATTERNS:
        text = pattern.sub(_mask_value, text)
    return text


def _mask_value(match: re.Match[str]) -> str:
    whole, start = match.group(0), match.start()
    return whole[: match.start("v") - start] + MASK + whole[match.end("v") - start :]


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


# -- every other way text leaves the process ---------------------------------------------------------------


class RedactingFormatter(logging.Formatter):
    """Formats with the wrapped formatter, then redacts the whole line, traceback included."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter("warroom: %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


class RedactingFilter(logging.Filter):
    """Redacts the message at the source, for handlers whose formatter is not ours (test capture, the UI)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_installed = False


def _wrap_handlers(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def install(level: int = logging.WARNING) -> None:
    """Route logs, warnings and uncaught exceptions through `redact`. Idempotent; called by the CLI first thing.

    Every record is redacted once, at creation (so handlers added later, by a UI or a test, see clean text),
    and every handler present now also formats through `RedactingFormatter`.
    """
    global _installed
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setLevel(level)
        root.addHandler(handler)
    _wrap_handlers(root)
    if _installed:
        return
    _installed = True
    logging.captureWarnings(True)
    previous_factory = logging.getLogRecordFactory()
    scrub = RedactingFilter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        scrub.filter(record)
        return record

    logging.setLogRecordFactory(factory)

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))

    sys.excepthook = excepthook

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        excepthook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)

    threading.excepthook = thread_hook
