"""The inventory pane at scale: above SYNC_ROWS records the layout is computed in a worker thread (the tree keeps
its last drawing until the new one is applied), branches draw a page of records at a time with a line that draws
the next page, and selecting a record draws its branch down to it. Sizes are shrunk so the test stays small."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from screens.widgets import inventory_pane as ip
from screens.widgets.inventory_pane import InventoryPane, InventoryRow


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield InventoryPane(id="inventory")


def _rows(n: int) -> list[InventoryRow]:
    apps = [InventoryRow(key="app:Gong", kind="app", name="Gong", detail=f"{n} tokens")]
    tokens = [
        InventoryRow(
            key=f"tok:Gong|005{i:05d}",
            kind="token",
            name=f"Gong → user{i:05d}@example.com",
            detail="1 token",
            record={"app": "Gong", "username": f"user{i:05d}@example.com", "tokens": ["r"]},
        )
        for i in range(n)
    ]
    return apps + tokens[::-1]  # unsorted, as the reader gives them


def _members(node: Any) -> list[InventoryRow]:
    return [c.data for c in node.children if isinstance(c.data, InventoryRow)]


@pytest.mark.parametrize("sync_rows", [1_000, 10])  # in the UI thread / in a worker
async def test_large_inventory_pages_and_filters(monkeypatch: pytest.MonkeyPatch, sync_rows: int) -> None:
    monkeypatch.setattr(ip, "SYNC_ROWS", sync_rows)
    monkeypatch.setattr(ip, "PAGE", 5)
    monkeypatch.setattr(ip, "SELECT_DRAWS", 20)
    app = _Host()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(InventoryPane)
        pane.set_rows(_rows(30), "30 tokens")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.shows("") and [r.name for r in pane.rows][:2] == ["Gong", "Gong → user00000@example.com"]
        gong = next(n for n in pane.records.root.children if n.data is not None)
        branch = gong.children[0]
        assert str(branch.label).startswith("tokens (30 in 30 user groups)") and not branch.children
        gong.expand()
        branch.expand()
        await pilot.pause()
        assert [r.key for r in _members(branch)] == [f"tok:Gong|005{i:05d}" for i in range(5)]
        more = branch.children[-1]
        assert "25 more" in str(more.label)
        pane.records.move_cursor(more)
        await pilot.pause()
        pane.records.action_select_cursor()
        await pilot.pause()
        assert len(_members(branch)) == 10 and "20 more" in str(branch.children[-1].label)
        pane.select("tok:Gong|00500017")  # further down than drawn: drawn down to it
        await pilot.pause()
        assert pane.selected() is not None and pane.selected().key == "tok:Gong|00500017"
        assert len(_members(branch)) == 18
        pane.select("tok:Gong|00500025")  # past SELECT_DRAWS: not drawn just to select it
        await pilot.pause()
        assert pane.selected().key == "tok:Gong|00500017"
        pane.set_filter(query="user0002")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.shows("user0002")
        assert {r.key for r in pane.visible_rows()} == {f"tok:Gong|005{i:05d}" for i in range(20, 30)}
        filtered = next(n for n in pane.records.root.children if n.children)
        drawn = _members(filtered.children[0])
        assert len(drawn) == 5 and all("user0002" in r.name for r in drawn)
        assert "[all] 10/31" in str(pane.query_one("#inventory-filter").content)
        pane.set_filter(query="")  # back to every record (laid out once, then reused)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.shows("") and len(pane.visible_rows()) == 31


async def test_an_older_layout_finishing_late_is_not_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ip, "SYNC_ROWS", 10)
    app = _Host()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(InventoryPane)
        pane.set_rows(_rows(30))
        await app.workers.wait_for_complete()
        await pilot.pause()
        old = ip.layout(ip.prepare(pane.rows), "all", "user00001")
        pane.set_filter(query="user0002")
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane._apply(old, None, pane._generation - 1)  # a slower, older layout arriving last
        assert pane.shows("user0002") and len(pane.visible_rows()) == 10


def test_a_layout_asked_to_stop_stops() -> None:
    """The worker's layout is abandoned as soon as a newer filter is asked for."""
    prepared = ip.prepare(_rows(30))
    with pytest.raises(ip.Stale):
        ip.layout(prepared, "all", "user", stale=lambda: True)
    assert len(ip.layout(prepared, "all", "user", stale=lambda: False).shown) == 30
