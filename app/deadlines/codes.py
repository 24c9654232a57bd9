"""Which residency codes an incident may record: ISO 3166-1 countries, the ISO 3166-2 subdivisions the rules
and holiday calendars know, and `EU`. A code outside them is refused with the closest known codes, so a typo
or a bare US state (`TX`, which is no country) never silently counts toward no rule; a vocabulary word
(sector, data category) is checked the same way.

A bare two-letter code that is an ISO country is read as that country even when it is also a US state's
postal code (`CA` is Canada, `DE` Germany): that is what ISO 3166-1 says, and the facts command prints a
reminder that the state is written `US-CA`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cache

from app.base.errors import UsageError
from app.deadlines.vocab import CODE_ALIASES

# ISO 3166-1 alpha-2, the officially assigned codes.
ISO_COUNTRIES = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
    ]
)
# ISO 3166-2 subdivisions of the two countries whose rules are per state or province.
US_SUBDIVISIONS = frozenset(
    [
        "AK",
        "AL",
        "AR",
        "AS",
        "AZ",
        "CA",
        "CO",
        "CT",
        "DC",
        "DE",
        "FL",
        "GA",
        "GU",
        "HI",
        "IA",
        "ID",
        "IL",
        "IN",
        "KS",
        "KY",
        "LA",
        "MA",
        "MD",
        "ME",
        "MI",
        "MN",
        "MO",
        "MP",
        "MS",
        "MT",
        "NC",
        "ND",
        "NE",
        "NH",
        "NJ",
        "NM",
        "NV",
        "NY",
        "OH",
        "OK",
        "OR",
        "PA",
        "PR",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UM",
        "UT",
        "VA",
        "VI",
        "VT",
        "WA",
        "WI",
        "WV",
        "WY",
    ]
)
CA_SUBDIVISIONS = frozenset(["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"])
REGIONS = frozenset({"EU"})


@cache
def _calendar_subdivisions() -> dict[str, frozenset[str]]:
    """ISO 3166-2 subdivisions of the other countries, as the holiday calendars list them."""
    import holidays  # imported on first use, as in app/deadlines/days.py

    out: dict[str, frozenset[str]] = {}
    for country, subdivs in holidays.list_supported_countries().items():
        out[country] = frozenset(str(s).upper() for s in subdivs)
    out["US"] = US_SUBDIVISIONS
    out["CA"] = CA_SUBDIVISIONS
    return out


def known_code(code: str) -> bool:
    if code in ISO_COUNTRIES or code in REGIONS:
        return True
    country, sep, sub = code.partition("-")
    return bool(sep) and country in ISO_COUNTRIES and sub in _calendar_subdivisions().get(country, frozenset())


def _suggestions(code: str) -> list[str]:
    """The closest known codes: a bare US state or Canadian province first, then near spellings."""
    out: list[str] = []
    bare = code.replace("-", "")
    if len(bare) == 2 and bare in US_SUBDIVISIONS:
        out.append(f"US-{bare}")
    if len(bare) == 2 and bare in CA_SUBDIVISIONS:
        out.append(f"CA-{bare}")
    if out:
        return out
    country, sep, sub = code.partition("-")
    if sep and country in ISO_COUNTRIES:
        subs = sorted(_calendar_subdivisions().get(country, frozenset()))
        out += [f"{country}-{s}" for s in difflib.get_close_matches(sub, subs, n=3, cutoff=0.5)]
        return out or [country]
    if sep and sub in US_SUBDIVISIONS:
        return [f"US-{sub}"]
    pool = sorted(ISO_COUNTRIES | REGIONS)
    out += difflib.get_close_matches(code, pool, n=3, cutoff=0.5)
    return list(dict.fromkeys(out))[:4]


def check_code(raw: str, what: str) -> str:
    """Normalise and validate a residency code; unknown codes raise UsageError with the closest ones."""
    code = raw.strip().upper()
    code = CODE_ALIASES.get(code, code)
    if known_code(code):
        return code
    close = _suggestions(code)
    hint = f"; did you mean {' or '.join(close)}?" if close else " (examples: US-TX, GB, BR, DE, EU)"
    raise UsageError(f"{what}: {code!r} is not a known jurisdiction code (ISO 3166-1, ISO 3166-2 or EU){hint}")


def check_words(items: Iterable[str], vocab: Iterable[str], what: str) -> None:
    """Refuse words outside a vocabulary, naming the closest known words for each."""
    known = list(vocab)
    problems = []
    for item in items:
        if item in known:
            continue
        close = difflib.get_close_matches(item, known, n=3, cutoff=0.6)
        problems.append(item + (f" (did you mean {' or '.join(close)}?)" if close else ""))
    if problems:
        raise UsageError(f"{what}: unknown {', '.join(problems)}; known: {', '.join(known)}")
