"""The payload model of a `team.responder` entry (pydantic is loaded only when one is written or verified)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResponderPayload(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    role: str
    public_key: str
    fingerprint: str
