"""The simulated org's Metadata API: the SOAP calls simple-salesforce's `mdapi` sends for the components hardening
reads and changes (ConnectedApp, TransactionSecurityPolicy), on POST /services/Soap/m/<version>[/<org id>].

Shapes follow the Metadata WSDL simple-salesforce ships (Salesforce's own) and the Metadata API Developer Guide:
- readMetadata(type, fullNames[]) -> readMetadataResponse/result (ReadResult) with `records` (Metadata[]), each
  typed by xsi:type (meta_readMetadata.htm, meta-readresult.html). A name that matches nothing is left out of
  `records`: what Salesforce answers for it is not documented.
- createMetadata / updateMetadata (metadata[]) -> result (SaveResult: fullName, success, errors[]);
  upsertMetadata -> result (UpsertResult: created, fullName, success, errors[]). Error: statusCode (a StatusCode
  of the WSDL), message, fields.
- The login needs Modify Metadata Through Metadata API Functions or Modify All Data (readMetadata(),
  Permissions); without it the simulator answers a SOAP fault sf:INSUFFICIENT_ACCESS (the code is of the WSDL's
  StatusCode list; the fault a real org sends then is not documented). A bad session: sf:INVALID_SESSION_ID.

The simulator's own choices, where the documentation is silent:
- A connected app created in this org (no namespace) has a ConnectedApp component whose fullName is its Name with
  every run of non-word characters replaced by "_"; an app installed from a package (its AppMenuItem carries a
  NamespacePrefix) is not served (its policies are set in Setup). The component is derived from the
  ConnectedApplication row: isAdminApproved <- OptionsAllowAdminApprovedUsersOnly, refreshTokenPolicy
  "infinite" or "specific_lifetime:N:DAYS" <- RefreshTokenValidityPeriod, ipRelaxation "ENFORCE"; an update
  writes the first two back to the row (the read-only object the inventory reads).
- Updating a component that does not exist: SaveResult success false, INVALID_CROSS_REFERENCE_KEY. Creating a
  ConnectedApp is refused (INSUFFICIENT_ACCESS): the reference says connected app creation is restricted as of
  Spring '26; the status code is the simulator's.
- The component's other fields are placeholders of the simulator, not read from any org: contactEmail
  "admin@example.com", callbackUrl the row's StartUrl (else "https://localhost/oauth/callback"), scopes Api and
  RefreshToken, and ipRelaxation "ENFORCE" until a deploy changes it (ConnectedApplication has no documented
  field that carries it, so an org's relaxed apps cannot be seeded yet).
- No Setup Audit Trail row is written for a connected app policy change: no recorded Action value for it was
  at hand, and the simulator does not invent one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from app.simorg.store import Store

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SERVED_TYPES = ("ConnectedApp", "TransactionSecurityPolicy")
_REQUIRED: dict[str, tuple[str, ...]] = {  # minOccurs=1 elements of the WSDL's types
    "ConnectedApp": ("contactEmail", "label"),
    "ConnectedApp.oauthConfig": ("callbackUrl",),
    "ConnectedApp.oauthPolicy": ("ipRelaxation", "refreshTokenPolicy"),
    "TransactionSecurityPolicy": ("action", "active"),
}
# Elements the WSDL declares maxOccurs="unbounded" in these types: always lists, even with one value.
_LISTS = {"scopes", "ipRanges", "attributes", "permissionSetName", "profileName", "notifications"}
_LIFETIME_RE = re.compile(r"^specific_lifetime:(\d+):(\w+)$")


class MetadataFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(el: ET.Element) -> Any:
    children = list(el)
    if not children:
        text = (el.text or "").strip()
        return {"true": True, "false": False}.get(text, text)
    out: dict[str, Any] = {}
    for child in children:
        name, value = _local(child.tag), _value(child)
        if name in _LISTS:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _xml(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_xml(name, v) for v in value)
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{MD_NS}" xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def fault_body(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="http://soap.sforce.com/2006/04/metadata">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{escape(code)}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def app_full_name(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_")


class MetadataService:
    """Components by (type, fullName), and the SOAP calls on them; guarded by the store's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.components: dict[tuple[str, str], dict[str, Any]] = {}

    # -- the call

    def call(self, body: bytes) -> bytes:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise MetadataFault("INVALID_XML", "The request is not well-formed XML") from None
        token = next(((el.text or "").strip() for el in root.iter() if _local(el.tag) == "sessionId"), "")
        session = self.store.session_for(token)
        if session is None:
            raise MetadataFault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        perms = self.store.permissions_of(session.user_id)
        if not perms & {"ModifyMetadata", "ModifyAllData"}:
            raise MetadataFault(
                "INSUFFICIENT_ACCESS",
                "the 'Modify Metadata Through Metadata API Functions' or 'Modify All Data' permission is required",
            )
        call = next((el for el in root.iter() if _local(el.tag).endswith("Metadata")), None)
        if call is None:
            raise MetadataFault("INVALID_OPERATION", "No operation found in the request body")
        op = _local(call.tag)
        with self.store.lock:
            if op == "readMetadata":
                return self._read(call)
            if op in ("createMetadata", "updateMetadata", "upsertMetadata"):
                return self._save(op, call, session.user_id)
        raise MetadataFault("INVALID_OPERATION", f"{op} is not served by this org")

    def _read(self, call: ET.Element) -> bytes:
        mtype = next(((el.text or "").strip() for el in call if _local(el.tag) == "type"), "")
        names = [(el.text or "").strip() for el in call if _local(el.tag) == "fullNames"]
        if mtype not in SERVED_TYPES:
            raise MetadataFault("INVALID_TYPE", f"Unknown type name '{mtype}'")
        records = ""
        for name in names:
            comp = self.get(mtype, name)
            if comp is not None:
                inner = "".join(_xml(k, v) for k, v in comp.items())
                records += f"<records xsi:type={quoteattr(mtype)}>{inner}</records>"
        return _envelope(f"<readMetadataResponse><result>{records}</result></readMetadataResponse>")

    def _save(self, op: str, call: ET.Element, user_id: str) -> bytes:
        results = ""
        for el in call:
            if _local(el.tag) != "metadata":
                continue
            mtype = _local(el.get(f"{{{XSI}}}type", "")).rsplit(":", 1)[-1]
            comp = _value(el)
            comp = comp if isinstance(comp, dict) else {}
            name = str(comp.get("fullName") or "")
            created, errors = self._apply(op, mtype, name, comp)
            inner = "".join(
                "<errors>" + _xml("message", msg) + _xml("statusCode", code) + "</errors>" for code, msg in errors
            )
            head = f"<created>{'true' if created else 'false'}</created>" if op == "upsertMetadata" else ""
            ok = "false" if errors else "true"
            results += f"<result>{head}{inner}{_xml('fullName', name)}<success>{ok}</success></result>"
        return _envelope(f"<{op}Response>{results}</{op}Response>")

    def _apply(self, op: str, mtype: str, name: str, comp: dict[str, Any]) -> tuple[bool, list[tuple[str, str]]]:
        if mtype not in SERVED_TYPES:
            return False, [("INVALID_TYPE", f"Unknown type name '{mtype}'")]
        if not name:
            return False, [("REQUIRED_FIELD_MISSING", "Required field is missing: fullName")]
        missing = [
            f"{where.split('.', 1)[1] + '.' if '.' in where else ''}{field}"
            for where, fields in _REQUIRED.items()
            if where.split(".")[0] == mtype
            for field in fields
            if (_part(comp, where) or {field: "present"}).get(field) in (None, "")
        ]
        if missing:
            return False, [("REQUIRED_FIELD_MISSING", f"Required field is missing: {', '.join(missing)}")]
        exists = self.get(mtype, name) is not None
        if op == "createMetadata" and exists:
            return False, [("DUPLICATE_VALUE", f"There is already a {mtype} named {name}")]
        if op == "updateMetadata" and not exists:
            return False, [("INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no {mtype} named {name} found")]
        if mtype == "ConnectedApp" and not exists:
            # "Connected apps creation is restricted as of Spring '26" (metadata-connectedapp.html); the code is ours.
            return False, [("INSUFFICIENT_ACCESS", "Connected apps creation is restricted; use external client apps")]
        self.components[(mtype, name)] = comp
        if mtype == "ConnectedApp":
            self._mirror(name, comp)
        return not exists, []

    # -- components

    def get(self, mtype: str, name: str) -> dict[str, Any] | None:
        found = self.components.get((mtype, name))
        if found is None and mtype == "ConnectedApp":
            row = self._app_row(name)
            if row is not None:
                found = self.components[(mtype, name)] = _connected_app(name, row)
        return found

    def _app_row(self, name: str) -> dict[str, Any] | None:
        for row in self.store.rows("ConnectedApplication"):
            if app_full_name(str(row.get("Name", ""))) != name:
                continue
            menu = self.store.find("AppMenuItem", ApplicationId=row["Id"])
            if any(m.get("NamespacePrefix") for m in menu):
                return None  # installed from a package: its component is the package's
            return row
        return None

    def _mirror(self, name: str, comp: dict[str, Any]) -> None:
        row = self._app_row(name)
        if row is None:
            return
        changes: dict[str, Any] = {}
        approved = _part(comp, "ConnectedApp.oauthConfig") or {}
        if "isAdminApproved" in approved:
            changes["OptionsAllowAdminApprovedUsersOnly"] = approved["isAdminApproved"] is True
        policy = str((_part(comp, "ConnectedApp.oauthPolicy") or {}).get("refreshTokenPolicy") or "")
        m = _LIFETIME_RE.match(policy)
        changes["RefreshTokenValidityPeriod"] = int(m.group(1)) if m else None
        changes["OptionsRefreshTokenValidityMetric"] = m is not None
        table = self.store.table("ConnectedApplication")
        key = table.key_of(row["Id"])
        if key is not None:
            table.update(key, changes)


def _part(comp: dict[str, Any], where: str) -> dict[str, Any] | None:
    node: Any = comp
    for part in where.split(".")[1:]:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _connected_app(name: str, row: dict[str, Any]) -> dict[str, Any]:
    period = row.get("RefreshTokenValidityPeriod")
    return {
        "fullName": name,
        "contactEmail": "admin@example.com",
        "label": row.get("Name", name),
        "oauthConfig": {
            "callbackUrl": row.get("StartUrl") or "https://localhost/oauth/callback",
            "isAdminApproved": bool(row.get("OptionsAllowAdminApprovedUsersOnly")),
            "scopes": ["Api", "RefreshToken"],
        },
        "oauthPolicy": {
            "ipRelaxation": "ENFORCE",
            "refreshTokenPolicy": f"specific_lifetime:{period}:DAYS" if period else "infinite",
        },
    }
