"""What `strip_permissions` removes: every assignment that gives a user in scope the access a compromised login
uses to take data out, each with the grants that put it in the plan.

A grant counts when its permission set (profile-owned ones included) carries one of the dangerous system
permissions, API access (PermissionSet.PermissionsApiEnabled), View All or Modify All Records on any object
(ObjectPermissions.PermissionsViewAllRecords / PermissionsModifyAllRecords), or read on an object named as
exported (ObjectPermissions.PermissionsRead). Salesforce object reference: PermissionSetAssignment ("a user's
assignment to a permission set or permission set group"; delete() supported), ObjectPermissions ("the enabled
object permissions for the parent PermissionSet"; needs View Setup and Configuration).

The same rows are read from the live org or from the inventory snapshot; a profile-owned set's assignment
cannot be deleted, so the planner turns it into a manual task (change the user's profile in Setup).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from app.containment.models import DANGEROUS_PERMISSIONS, chunks, flat_row, id15, path_get, soql_in
from app.inventory import ObjectPermission, export_grants, held_permission_sets

# The flags a strip looks for: the dangerous system permissions, then API access.
STRIP_PERMISSIONS: tuple[str, ...] = (*DANGEROUS_PERMISSIONS, "ApiEnabled")
PSA_FIELDS = (
    "Id, AssigneeId, PermissionSetId, PermissionSet.Name, PermissionSet.Label, "
    "PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name, PermissionSetGroupId, ExpirationDate"
)
OBJECT_FIELDS = "ParentId, SobjectType, PermissionsRead, PermissionsViewAllRecords, PermissionsModifyAllRecords"


def grants_of(
    flags: Sequence[str], held: Sequence[str], objects: Sequence[ObjectPermission], exported: Sequence[str]
) -> list[str]:
    """Why a set is in a strip plan: its dangerous flags (by API name), API access, object-wide access and
    read on the exported objects, in that order."""
    out = [f for f in flags if f in held and f != "ApiEnabled"]
    out += export_grants([f for f in held if f == "ApiEnabled"], objects, exported)
    return out


def _object_rows(rows: list[dict[str, Any]]) -> dict[str, list[ObjectPermission]]:
    out: dict[str, list[ObjectPermission]] = defaultdict(list)
    for r in rows:
        out[id15(r.get("ParentId"))].append(
            ObjectPermission(
                parent_id=str(r.get("ParentId")),
                object=str(r.get("SobjectType")),
                read=bool(r.get("PermissionsRead")),
                view_all=bool(r.get("PermissionsViewAllRecords")),
                modify_all=bool(r.get("PermissionsModifyAllRecords")),
            )
        )
    return out


def live_assignments(
    query: Any, user_ids: Sequence[str], flags: list[str], exported: Sequence[str]
) -> list[dict[str, Any]]:
    """Every assignment of the users whose set grants export access, read live: the assignments with their
    sets' flags, then the sets' object permissions (only View All, Modify All and read on exported objects)."""
    flag_fields = "".join(f", PermissionSet.Permissions{f}" for f in flags)
    rows: list[dict[str, Any]] = []
    for chunk in chunks(list(user_ids)):
        rows += query(
            f"SELECT {PSA_FIELDS}{flag_fields} FROM PermissionSetAssignment WHERE AssigneeId IN {soql_in(chunk)}"
        )
    set_ids = sorted({str(r["PermissionSetId"]) for r in rows if r.get("PermissionSetId")})
    wide = "PermissionsViewAllRecords = true OR PermissionsModifyAllRecords = true"
    if exported:
        wide += f" OR (PermissionsRead = true AND SobjectType IN {soql_in(exported)})"
    objects: list[dict[str, Any]] = []
    for chunk in chunks(set_ids):
        objects += query(
            f"SELECT {OBJECT_FIELDS} FROM ObjectPermissions WHERE ParentId IN {soql_in(chunk)} AND ({wide})"
        )
    by_set = _object_rows(objects)
    out = []
    for row in rows:
        held = [f for f in flags if path_get(row, f"PermissionSet.Permissions{f}")]
        grants = grants_of(flags, held, by_set.get(id15(row.get("PermissionSetId")), []), exported)
        if grants:
            flat = {k: v for k, v in flat_row(row).items() if not k.startswith("PermissionSet.Permissions")}
            out.append({**flat, "Grants": grants})
    return out


def snapshot_assignments(
    snap: Any, user_ids: Sequence[str], flags: list[str], exported: Sequence[str]
) -> list[dict[str, Any]]:
    """The same rows from an inventory snapshot (profile-owned sets without an assignment row get a
    `profile:<set id>` id: they are only ever refused, never deleted)."""
    wanted = {id15(u) for u in user_ids}
    by_assignment = {a.id: a for a in snap.assignments}
    objects: dict[str, list[ObjectPermission]] = defaultdict(list)
    for op in snap.object_permissions:
        objects[op.parent_id].append(op)
    out: list[dict[str, Any]] = []
    for uid, held in held_permission_sets(snap, at=snap.taken_utc).items():
        if id15(uid) not in wanted:
            continue
        for ps, assignment_id in held:
            grants = grants_of(flags, ps.permissions, objects.get(ps.id, []), exported)
            if not grants:
                continue
            a = by_assignment.get(assignment_id) if assignment_id else None
            out.append(
                {
                    "Id": assignment_id or f"profile:{ps.id}",
                    "AssigneeId": uid,
                    "PermissionSetId": ps.id,
                    "PermissionSet.Name": ps.name,
                    "PermissionSet.Label": ps.label,
                    "PermissionSet.IsOwnedByProfile": ps.profile_owned,
                    "PermissionSet.Profile.Name": ps.profile_name,
                    "PermissionSetGroupId": a.group_id if a else None,
                    "ExpirationDate": a.expires if a else None,
                    "Grants": grants,
                }
            )
    return out
