"""Spotting personal data and credentials in free text (debug-log bodies, source files), always masked.

Debug logs and integration scripts are where payloads and secrets leak; the responder needs to know what is
there and where, never to see the values again, so every hit carries only a masked sample.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from app.base.redaction import AWS_KEY_RE, REFRESH_TOKEN_RE, SESSION_ID_RE

# Kinds reported for debug logs (personal data and live credentials).
EMAIL = "email"
CARD = "card_number"
NATIONAL_ID = "national_id"
PHONE = "phone_number"
SESSION_ID = "session_id"
ACCESS_TOKEN = "bearer_token"
REFRESH_TOKEN = "refresh_token"
AWS_KEY = "aws_access_key"
PRIVATE_KEY = "private_key"

_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
# 13-19 digits, optionally grouped by single spaces or dashes; Luhn decides.
_CARD_RE = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# International numbers start with +; national ones are the North American 3-3-4 shape.
_PHONE_RE = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,5}(?![\w-])"
    r"|(?<![\w+-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])"
)
# US social security numbers: 3-2-4 digits, never area 000, 666 or 9xx, group 00 or serial 0000.
_SSN_RE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_BEARER_RE = re.compile(r"(?i)\b(?:bearer|oauth)\s+([A-Za-z0-9._~+/=!-]{16,})")
PRIVATE_KEY_RE = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    line: int
    masked: str


def luhn_ok(digits: str) -> bool:
    """The card-number checksum (ISO/IEC 7812): weeds out order numbers and timestamps."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask(value: str, keep: int = 4) -> str:
    """Keep a short prefix so two hits can be told apart; never enough to reuse the value."""
    value = value.strip()
    if len(value) <= keep * 2:
        return "*" * len(value)
    return f"{value[:keep]}{'*' * min(len(value) - keep, 12)} ({len(value)} chars)"


def mask_card(digits: str) -> str:
    return f"{'*' * (len(digits) - 4)}{digits[-4:]}"


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"{'*' * max(len(digits) - 2, 0)}{digits[-2:]}"


def _cards(line: str) -> Iterator[tuple[str, int, int]]:
    for m in _CARD_RE.finditer(line):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits):
            yield digits, m.start(), m.end()


def scan_line(line: str, lineno: int) -> Iterator[Hit]:
    """Personal data and credentials on one line of text."""
    for m in SESSION_ID_RE.finditer(line):
        yield Hit(SESSION_ID, lineno, mask(m.group(0), 5))
    for m in _BEARER_RE.finditer(line):
        if not SESSION_ID_RE.match(m.group(1)):
            yield Hit(ACCESS_TOKEN, lineno, mask(m.group(1)))
    for m in REFRESH_TOKEN_RE.finditer(line):
        yield Hit(REFRESH_TOKEN, lineno, mask(m.group(0)))
    for m in AWS_KEY_RE.finditer(line):
        yield Hit(AWS_KEY, lineno, mask(m.group(0)))
    if PRIVATE_KEY_RE.search(line):
        yield Hit(PRIVATE_KEY, lineno, "-----BEGIN PRIVATE KEY----- ****")
    for m in _EMAIL_RE.finditer(line):
        yield Hit(EMAIL, lineno, mask_email(m.group(0)))
    cards = list(_cards(line))
    for digits, _start, _end in cards:
        yield Hit(CARD, lineno, mask_card(digits))
    for m in _SSN_RE.finditer(line):
        yield Hit(NATIONAL_ID, lineno, f"***-**-{m.group(0)[-4:]}")
    for m in _PHONE_RE.finditer(line):
        if any(m.start() < end and start < m.end() for _d, start, end in cards):
            continue
        digits = re.sub(r"\D", "", m.group(0))
        if 8 <= len(digits) <= 15 and not _looks_like_date_or_time(m.group(0)):
            yield Hit(PHONE, lineno, mask_phone(m.group(0)))


def _looks_like_date_or_time(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}.*|\d{2}:\d{2}:\d{2}.*", text.strip()))


def scan_text(text: str) -> Iterator[Hit]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        yield from scan_line(line, lineno)


def scan_debug_log(text: str) -> Iterator[Hit]:
    """As scan_text, minus the USER_INFO header line (the running user's own username is not leaked data)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if "|USER_INFO|" not in line:
            yield from scan_line(line, lineno)
