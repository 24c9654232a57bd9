"""One sObject's rows in the simulated org, with an Id index, per-field indexes and exact unique lookups."""

from __future__ import annotations

from typing import Any

from app.simorg import soql
from app.simorg.ids import id_key
from app.simorg.schema import FieldDef, ObjectDef


class Table:
    """Rows of one sObject in insertion order, an Id index and per-field indexes (value -> row keys).

    An index bucket is a bare row key while one row has the value, a list while a few do, and a set once many
    do: most indexed values (usernames, one login per user) are unique, a user holds a handful of OAuth tokens
    (a set of five keys is seven times the size of a list: 1M tokens), and an app name is on many rows (a
    revoke removes one key from it: a set).
    """

    def __init__(self, obj: ObjectDef) -> None:
        self.obj = obj
        self.rows: dict[int, dict[str, Any]] = {}
        self.by_id: dict[str, int] = {}
        self.index_fields = {name: obj.fields[name] for name in obj.indexes if name in obj.fields}
        self.indexes: dict[str, dict[Any, int | list[int] | set[int]]] = {name: {} for name in self.index_fields}
        self._norms = [(name, self.indexes[name], _normaliser(fd)) for name, fd in self.index_fields.items()]
        # Exact, case-sensitive, one-row-per-value lookups (OauthToken.DeleteToken for revoke).
        self.unique: dict[str, dict[str, int]] = {name: {} for name in obj.unique if name in obj.fields}
        self.deleted: list[dict[str, Any]] = []
        self._next = 0

    def insert(self, row: dict[str, Any]) -> int:
        key = self._next
        self._next += 1
        self.rows[key] = row
        record_id = row.get("Id")
        if record_id:
            self.by_id[id_key(record_id)] = key
        for name, index, norm in self._norms:
            v = row.get(name)
            if v is not None:
                _bucket_add(index, norm(v), key)
        for name, exact in self.unique.items():
            v = row.get(name)
            if v is not None:
                exact[v] = key
        return key

    def by_unique(self, name: str, value: str) -> int | None:
        key = self.unique[name].get(value)
        return key if key is not None and key in self.rows else None

    def key_of(self, record_id: str) -> int | None:
        return self.by_id.get(id_key(record_id))

    def get(self, record_id: str) -> dict[str, Any] | None:
        key = self.by_id.get(id_key(record_id))
        return self.rows.get(key) if key is not None else None

    def update(self, key: int, changes: dict[str, Any]) -> None:
        row = self.rows[key]
        for name, value in changes.items():
            fd = self.index_fields.get(name)
            if fd is not None:
                old = row.get(name)
                if old is not None:
                    _bucket_remove(self.indexes[name], soql._norm(fd, old), key)
                if value is not None:
                    _bucket_add(self.indexes[name], soql._norm(fd, value), key)
            if value is None:
                row.pop(name, None)
            else:
                row[name] = value

    def delete(self, key: int) -> dict[str, Any]:
        row = self.rows.pop(key)
        if row.get("Id"):
            self.by_id.pop(id_key(row["Id"]), None)
        for name, fd in self.index_fields.items():
            v = row.get(name)
            if v is not None:
                _bucket_remove(self.indexes[name], soql._norm(fd, v), key)
        for name, exact in self.unique.items():
            v = row.get(name)
            if v is not None and exact.get(v) == key:
                del exact[v]
        self.deleted.append(row)
        return row

    def candidates(self, name: str, keys: list[Any]) -> list[dict[str, Any]]:
        if name == "Id":
            found = sorted(k for k in (self.by_id.get(v) for v in keys) if k is not None)
        else:
            index = self.indexes[name]
            hits: set[int] = set()
            for v in keys:
                bucket = index.get(v)
                if isinstance(bucket, int):
                    hits.add(bucket)
                elif bucket:
                    hits.update(bucket)
            found = sorted(hits)
        return [self.rows[k] for k in found if k in self.rows]


LIST_BUCKET = 32  # keys a bucket holds as a list before it becomes a set


def _bucket_add(index: dict[Any, int | list[int] | set[int]], value: Any, key: int) -> None:
    bucket = index.get(value)
    if bucket is None:
        index[value] = key
    elif isinstance(bucket, int):
        index[value] = [bucket, key]
    elif isinstance(bucket, list):
        if key not in bucket:
            bucket.append(key)
            if len(bucket) > LIST_BUCKET:
                index[value] = set(bucket)
    else:
        bucket.add(key)


def _bucket_remove(index: dict[Any, int | list[int] | set[int]], value: Any, key: int) -> None:
    bucket = index.get(value)
    if bucket is None:
        return
    if isinstance(bucket, int):
        if bucket == key:
            del index[value]
        return
    if isinstance(bucket, list):
        if key in bucket:
            bucket.remove(key)
    else:
        bucket.discard(key)
    if not bucket:
        del index[value]


def _normaliser(fd: FieldDef) -> Any:
    if fd.type in ("id", "reference"):
        return id_key
    return lambda v: v.lower() if isinstance(v, str) else v
