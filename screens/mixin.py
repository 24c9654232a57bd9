"""What an action mixin of the main screen uses from it, for the type checker: the app, the incident, the
actor, the error notice, the org session of a worker. MainScreen provides them at run time (ConsoleActions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.incident.core import Incident
    from screens.app import WarroomApp


class ScreenActions:
    app: WarroomApp

    if TYPE_CHECKING:

        @property
        def incident(self) -> Incident: ...
        @property
        def actor(self) -> str: ...
        def fail(self, exc: BaseException | str) -> None: ...
        def _fail_from_thread(self, exc: BaseException | str) -> None: ...
        def _org_session(self) -> Any: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
