"""`OrgClient`: what the areas may ask of a logged-in org, so they depend on this contract and not on the adapter.

`app.salesforce.client.Org` (simple-salesforce underneath) satisfies it, for a real org and for the simulated org
alike: the simulated org is reached only over HTTPS through that same adapter. Importing this module is cheap (the
adapter and its HTTP stack are imported for type checking only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload

if TYPE_CHECKING:
    from app.salesforce.client import ApiUsage, Identity, Org, Truncation


class OrgClient(Protocol):
    """A logged-in org: SOQL (every page), describe, single records, token revocation, downloads, identity."""

    @property
    def alias(self) -> str: ...

    @property
    def api_version(self) -> str:
        """The REST API version in use, without the leading "v" ("59.0")."""
        ...

    @property
    def instance_url(self) -> str: ...

    @property
    def api_usage(self) -> ApiUsage | None:
        """The daily API usage the last response reported (Sforce-Limit-Info), if any."""
        ...

    @property
    def last_truncation(self) -> Truncation | None:
        """Set when the last query stopped paging before its totalSize (Salesforce caps OauthToken)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> OrgClient: ...

    def __exit__(self, *exc: object) -> None: ...

    # -- queries

    def query_iter(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]: ...

    def query(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False, strict: bool = False
    ) -> list[dict[str, Any]]: ...

    def tooling_query(self, soql: str, *, strict: bool = False) -> list[dict[str, Any]]: ...

    def count(self, soql_or_sobject: str, where: str | None = None) -> int: ...

    # -- describe

    def describe(self, sobject: str, *, tooling: bool = False) -> dict[str, Any]: ...

    def describe_fields(self, sobject: str, *, tooling: bool = False) -> set[str]: ...

    # -- records

    def get(self, sobject: str, record_id: str) -> dict[str, Any]: ...

    def create(self, sobject: str, fields: dict[str, Any]) -> str: ...

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None: ...

    def delete(self, sobject: str, record_id: str) -> None: ...

    def tooling_delete(self, sobject: str, record_id: str) -> None: ...

    def tooling_update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None: ...

    def revoke_token(self, token: str) -> None: ...

    # -- Metadata API

    def read_metadata(self, mtype: str, full_names: list[str]) -> dict[str, dict[str, Any]]: ...

    def update_metadata(self, mtype: str, full_name: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    # -- downloads

    @overload
    def download(self, path: str) -> bytes: ...

    @overload
    def download(self, path: str, target: Path, *, progress: Callable[[int], None] | None = None) -> int: ...

    # -- identity

    def identity(self) -> Identity: ...


OrgFactory = Callable[[], OrgClient]
"""Opens (logs in to) an org when called: nothing reaches Salesforce before the caller needs it."""


if TYPE_CHECKING:

    def _the_adapter_is_an_org_client(org: Org) -> OrgClient:
        return org  # mypy checks here that `Org` satisfies the protocol
