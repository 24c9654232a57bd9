"""Salesforce's documented schema, as data: objects, Tooling objects, real-time events and Event Log File types.

The description lives in `app/data/salesforce/*.toml`, each entry with the public source it came from. The
simulated org builds its describe and tables from it, the conformance tests hold the client's queries and the
parsers' column names against it, and docs/salesforce.md explains it. Nothing here talks to an org.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FieldType = Literal[
    "id",
    "string",
    "textarea",
    "picklist",
    "boolean",
    "int",
    "double",
    "datetime",
    "date",
    "reference",
    "base64",
    "url",
    "email",
    "phone",
]
_FLAGS = frozenset({"update", "create", "nofilter", "optional", "optional-off"})
FILES = ("objects.toml", "tooling.toml", "events.toml")


class SfField(BaseModel):
    """One documented field, parsed from `"<type> [update] [create] [nofilter] [optional|optional-off] [->Target]"`."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: FieldType
    updateable: bool = False
    createable: bool = False
    filterable: bool = True
    optional: bool = False  # not on every org: select only when describe shows it
    default_on: bool = True  # whether the simulated org has an optional field unless a seed says otherwise
    reference_to: str | None = None

    @classmethod
    def parse(cls, name: str, spec: str) -> SfField:
        words = spec.split()
        if not words:
            raise ValueError(f"field {name}: empty spec")
        target = None
        flags: set[str] = set()
        for word in words[1:]:
            if word.startswith("->"):
                target = word[2:]
            elif word in _FLAGS:
                flags.add(word)
            else:
                raise ValueError(f"field {name}: unknown flag {word!r}")
        return cls(
            name=name,
            type=words[0],
            updateable="update" in flags,
            createable="create" in flags,
            filterable="nofilter" not in flags and words[0] not in ("textarea", "base64"),
            optional=bool(flags & {"optional", "optional-off"}),
            default_on="optional-off" not in flags,
            reference_to=target,
        )


class SfObject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    api: list[Literal["rest", "tooling"]]
    calls: list[str]
    sources: list[str] = Field(min_length=1)
    since: str | None = None
    access: str | None = None
    visible_with: list[str] = Field(default_factory=list)
    visible_all_with: list[str] = Field(default_factory=list)  # rows of other users need one of these
    dml_with: list[str] = Field(default_factory=list)
    license: Literal["event_monitoring"] | None = None
    big_object: bool = False
    row_cap: int | None = None  # rows one query can return in total (queryMore included)
    unconfirmed: list[str] | Literal["all"] = Field(default_factory=list)
    fields: dict[str, SfField]

    @model_validator(mode="before")
    @classmethod
    def _parse_fields(cls, data: dict[str, object]) -> dict[str, object]:
        raw = data.get("fields")
        if isinstance(raw, dict):
            data = dict(data)
            data["fields"] = {n: SfField.parse(n, s) if isinstance(s, str) else s for n, s in raw.items()}
        return data

    def field(self, name: str) -> SfField | None:
        for fd in self.fields.values():
            if fd.name.lower() == name.lower():
                return fd
        return None

    def relationship(self, name: str) -> SfField | None:
        """The reference field behind a relationship name (`Profile` -> ProfileId)."""
        for fd in self.fields.values():
            if fd.reference_to and _relationship_name(fd.name).lower() == name.lower():
                return fd
        return None


class LogType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    columns: list[str]
    sources: list[str] = Field(min_length=1)
    row_count: str | None = None
    unconfirmed: list[str] = Field(default_factory=list)
    free: bool = False
    notes: str | None = None

    @model_validator(mode="after")
    def _columns_known(self) -> LogType:
        for name in [*self.unconfirmed, *([self.row_count] if self.row_count else [])]:
            if name not in self.columns:
                raise ValueError(f"{self.name}: {name} is not one of its columns")
        return self


class SalesforceSchema(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_version: str
    objects: dict[str, SfObject]
    log_types: dict[str, LogType]

    def object(self, name: str) -> SfObject | None:
        for obj in self.objects.values():
            if obj.name.lower() == name.lower():
                return obj
        return None

    def log_type(self, name: str) -> LogType | None:
        return self.log_types.get(name)

    def optional_fields(self) -> list[tuple[str, str]]:
        """(object, field) of every field that is not on every org."""
        return [(o.name, f.name) for o in self.objects.values() for f in o.fields.values() if f.optional]


def _relationship_name(field: str) -> str:
    return field[:-2] if field.endswith("Id") else field


def data_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "salesforce"))


@cache
def salesforce_schema() -> SalesforceSchema:
    """The checked-in description, validated (a malformed entry fails loudly, naming the file and object)."""
    folder = data_dir()
    objects: dict[str, SfObject] = {}
    version = ""
    for name in FILES:
        path = folder / name
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        version = data.get("api_version", version)
        for obj_name, body in data["objects"].items():
            if obj_name in objects:
                raise ValueError(f"{path}: {obj_name} is described twice")
            try:
                objects[obj_name] = SfObject.model_validate({"name": obj_name, **body})
            except ValueError as exc:
                raise ValueError(f"{path}: {obj_name}: {exc}") from None
    elf_path = folder / "event_log_files.toml"
    types = tomllib.loads(elf_path.read_text(encoding="utf-8"))["types"]
    log_types = {n: LogType.model_validate({"name": n, **body}) for n, body in types.items()}
    return SalesforceSchema(api_version=version, objects=objects, log_types=log_types)


__all__ = ["FieldType", "LogType", "SalesforceSchema", "SfField", "SfObject", "data_dir", "salesforce_schema"]
