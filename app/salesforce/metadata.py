"""The Metadata API through simple-salesforce (`Salesforce.mdapi`), for the few components hardening changes.

simple-salesforce speaks SOAP to `/services/Soap/m/<version>/` through zeep, with the Metadata WSDL it ships
(Salesforce's own): `mdapi.<Type>.read(names)` sends readMetadata(type, fullNames) and `mdapi.<Type>.update(
[component])` sends updateMetadata(metadata[]); a SaveResult with success false becomes an `Exception` whose
text lists "(statusCode, message)" per component, and a SOAP fault becomes zeep's `Fault`.

Why this module exists: zeep talks through its own `Transport`, whose requests session is not the one
`app/salesforce/client.py` builds (trust_env=False, our CA file, our timeouts), so a Metadata call would trust
REQUESTS_CA_BUNDLE or fail against a private CA. Each call here points zeep's transport at the org's session
first, turns zeep's answers into plain dicts, and every failure into the client's `OrgError` family.

Documented facts used (Metadata API Developer Guide):
- readMetadata(): "Returns one or more metadata components from your organization synchronously"; the login
  needs Modify Metadata Through Metadata API Functions or Modify All Data (meta_readMetadata.htm). ReadResult
  has `records` (Metadata[]) (meta-readresult.html). What a name that matches no component gives back is not
  documented: a missing record and a record without a fullName both count here as "no such component".
- updateMetadata() replaces the component: every required field must be sent, so `update_component` reads the
  component, changes only the fields asked for, and sends the whole of it back.
- SaveResult: fullName, success, errors (Error: statusCode, message, fields) (the WSDL's SaveResult type).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import requests
from simple_salesforce import Salesforce

METADATA_NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
_ERROR_RE = re.compile(r"\((?P<code>[A-Z_]+), (?P<message>.*?)\)(?:, |$)", re.S)


class MetadataFailed(Exception):
    """A Metadata API call answered with a fault or an unsuccessful SaveResult (code, message)."""

    def __init__(self, code: str, message: str, *, fault: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fault = fault


def metadata_api(sf: Salesforce, session: requests.Session) -> Any:
    """simple-salesforce's `mdapi`, sending through `session` (the org's: its CA file, trust_env=False)."""
    api = sf.mdapi
    # simple-salesforce builds zeep's Client with zeep's default transport; send through the org's session.
    api._client.transport.session = session
    return api


def _plain(value: Any) -> Any:
    from zeep.helpers import serialize_object

    return serialize_object(value, dict)


def _drop_empty(value: Any) -> Any:
    """Serialized zeep objects carry every field of the type (None or []); keep the ones with a value. A
    consumer secret is never kept (a component read back goes to the journal as the state before)."""
    if isinstance(value, dict):
        out = {k: _drop_empty(v) for k, v in value.items() if k not in ("_value_1", "consumerSecret")}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _records(answer: Any) -> list[Any]:
    """`MetadataType.read` hands back the one record, a list of records, or a ReadResult; always a list."""
    if answer is None:
        return []
    if isinstance(answer, list):
        return answer
    records = getattr(answer, "records", None) if not isinstance(answer, dict) else answer.get("records")
    if records is not None:
        return list(records) if isinstance(records, list) else [records]
    return [answer]


def _guarded(fn: Callable[[], Any]) -> Any:
    from zeep.exceptions import Fault

    try:
        return fn()
    except Fault as exc:
        code = str(exc.code or "").rsplit(":", 1)[-1] or "UNKNOWN_EXCEPTION"
        message = str(exc.message or "")
        message = message.split(": ", 1)[1] if message.startswith(f"{code}: ") else message
        raise MetadataFailed(code, message, fault=True) from None


def read_components(
    sf: Salesforce, session: requests.Session, mtype: str, full_names: list[str]
) -> dict[str, dict[str, Any]]:
    """readMetadata(mtype, full_names): the components found, by fullName, as plain nested dicts."""
    api = metadata_api(sf, session)
    try:
        answer = _guarded(lambda: getattr(api, mtype).read(list(full_names)))
    except TypeError as exc:  # simple-salesforce takes len() of the answer: zeep gives None for no record
        if "NoneType" not in str(exc):
            raise
        return {}
    out: dict[str, dict[str, Any]] = {}
    for record in _records(answer):
        plain = _drop_empty(_plain(record))
        if isinstance(plain, dict) and plain.get("fullName"):
            out[str(plain["fullName"])] = plain
    return out


def merged(component: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The component with each dotted path of `changes` set ("oauthPolicy.ipRelaxation": "ENFORCE")."""
    out: dict[str, Any] = copy.deepcopy(dict(component))
    for path, value in changes.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[leaf] = value
    return out


def update_component(
    sf: Salesforce, session: requests.Session, mtype: str, full_name: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Read the component, set `changes` on it and send it whole with updateMetadata; what was sent."""
    current = read_components(sf, session, mtype, [full_name]).get(full_name)
    if current is None:
        raise MetadataFailed("NOT_FOUND", f"no {mtype} named {full_name!r} (readMetadata returned none)", fault=False)
    wanted = merged(current, changes)
    api = metadata_api(sf, session)
    kind = getattr(api, mtype)
    try:
        _guarded(lambda: kind.update([kind(**wanted)]))
    except MetadataFailed:
        raise
    except Exception as exc:  # simple-salesforce's text for a SaveResult with success false
        text = str(exc)
        found = _ERROR_RE.search(text)
        if found is None:
            raise
        raise MetadataFailed(found["code"], found["message"].strip(), fault=False) from None
    return wanted
