"""The workspace settings file, HOME/config.toml: non-secret facts only (which orgs exist, how to reach them).

Secrets never go here; `app/salesforce/credentials.py` keeps them in the keyring and records only where. Unknown
top-level tables are kept as they are, so other areas can add their own sections.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field

from app.base.errors import WarroomError
from app.base.tomlfile import TomlFileError, TomlInvalid, load_model

CONFIG_FILE = "config.toml"
HEADER = "# warroom workspace settings. No secrets here: they live in the keyring (see `warroom creds`).\n"

LoginKind = Literal["password", "jwt", "client_credentials", "session"]


class OrgConfig(BaseModel):
    """How to reach one org under an alias; `store` says which keyring holds its secrets."""

    model_config = ConfigDict(extra="forbid")

    kind: LoginKind
    store: Literal["keyring", "encrypted-file"] = "keyring"
    username: str | None = None
    consumer_key: str | None = None
    domain: str | None = None
    instance_url: str | None = None
    ca: str | None = None


class WorkspaceConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    orgs: dict[str, OrgConfig] = Field(default_factory=dict)


def config_path(home: Path) -> Path:
    return home / CONFIG_FILE


def load_config(home: Path) -> WorkspaceConfig:
    path = config_path(home)
    if not path.exists():
        return WorkspaceConfig()
    try:
        return load_model(path, WorkspaceConfig)[1]
    except (TomlFileError, TomlInvalid) as exc:
        raise WarroomError(str(exc)) from None


def save_config(home: Path, config: WorkspaceConfig) -> Path:
    """Write atomically (temp file, fsync, rename) so a crash leaves the old file or the new, never half."""
    path = config_path(home)
    data: dict[str, Any] = config.model_dump(exclude_none=True)  # python mode: other tables keep TOML dates
    home.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=home)  # created 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(HEADER.encode())
            fh.write(tomli_w.dumps(data).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
