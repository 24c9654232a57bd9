"""The inventory as a tree: each connected app, then its tokens (grouped per user), the users holding them and the
permission sets those users hold, with counts; integration users without tokens on their own branch. Risk reads in
words (`critical risk`), the containment status follows each record, and the kind filter and search (`/`) show only
matching records. Branches fill in when opened, a page of records at a time, so a 1M-token org draws only what is
expanded; above SYNC_ROWS records the sorting, search and grouping run in a worker thread (the tree keeps its last
drawing until the new one is ready), so no key waits for a pass over every record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

EMPTY = "no inventory yet: pull (p) or import (i)"
KIND_FILTERS = ("all", "app", "token", "user", "permset", "findings")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SEVERITY_MARK = {"critical": "!!!", "high": "!!", "medium": "!", "low": "·", "info": "·"}
SEVERITY_STYLE = {"critical": "bold reverse red", "high": "bold red", "medium": "yellow", "low": "dim", "info": "dim"}
SYNC_ROWS = 5_000  # inventories up to this many records are sorted and searched in the UI thread
PAGE = 200  # records drawn per branch at a time (a "more" line draws the next page)
SELECT_DRAWS = 5_000  # a record further down its branch than this is not drawn just to select it
STALE_CHECK = 5_000  # records searched between two checks that the search is still the one wanted


@dataclass(frozen=True)
class InventoryRow:
    key: str
    kind: str  # app | token | user | permset | other
    name: str
    detail: str = ""
    findings: tuple[tuple[str, str], ...] = ()  # (severity, title)
    containment: str = ""
    record: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def worst(self) -> str | None:
        if not self.findings:
            return None
        return min((s for s, _ in self.findings), key=lambda s: SEVERITY_RANK.get(s, 9))


def haystack(row: InventoryRow) -> str:
    """The text a search looks in, lowered: name, detail, kind, containment and finding titles."""
    return " ".join([row.name, row.detail, row.kind, row.containment, *(t for _, t in row.findings)]).lower()


def _kind_ok(row: InventoryRow, kind: str) -> bool:
    if kind == "findings":
        return bool(row.findings)
    return kind == "all" or row.kind == kind


def matches(row: InventoryRow, kind: str, query: str) -> bool:
    if not _kind_ok(row, kind):
        return False
    if not query:
        return True
    hay = haystack(row)
    return all(word in hay for word in query.lower().split())


Branch = tuple[str, list[InventoryRow]]  # (label, the rows under it) of a group not yet drawn


def _risk(row: InventoryRow) -> Text:
    worst = row.worst
    if not worst:
        return Text("no findings  ", style="dim")
    return Text(f"{SEVERITY_MARK.get(worst, '!')} {worst} risk  ", style=SEVERITY_STYLE.get(worst, ""))


def label_of(row: InventoryRow) -> Text:
    """`!!! critical risk  Drift  766 tokens, 3 users  ✓ revoke_tokens done`."""
    text = _risk(row)
    text.append(row.name, style="bold" if row.worst in ("critical", "high") else "")
    if row.detail:
        text.append("  " + row.detail, style="dim")
    if row.containment:
        text.append("  " + row.containment, style="green" if row.containment.startswith("✓") else "yellow")
    return text


def tree_of(rows: list[InventoryRow]) -> list[tuple[InventoryRow | None, str, list[Branch]]]:
    """(app row or None, app name, its branches) per app, then the users holding no token of any app."""
    apps: dict[str, InventoryRow | None] = {}
    tokens: dict[str, list[InventoryRow]] = {}
    users_by_name = {r.name: r for r in rows if r.kind == "user"}
    holders: dict[str, list[InventoryRow]] = {}
    sets: dict[str, list[InventoryRow]] = {}
    for r in rows:
        if r.kind == "app":
            apps[r.name] = r
    for r in rows:
        if r.kind not in ("token", "permset"):
            continue
        app = str(r.record.get("app") or "?")
        apps.setdefault(app, None)
        if r.kind == "permset":
            sets.setdefault(app, []).append(r)
            continue
        tokens.setdefault(app, []).append(r)
        user = users_by_name.get(str(r.record.get("username") or ""))
        if user is not None and user not in holders.setdefault(app, []):
            holders[app].append(user)
    out: list[tuple[InventoryRow | None, str, list[Branch]]] = []
    for name, row in apps.items():
        branches: list[Branch] = []
        mine = tokens.get(name, [])
        if mine:
            count = sum(len(r.record.get("tokens") or []) or 1 for r in mine)
            branches.append((f"tokens ({count} in {len(mine)} user group{'s' if len(mine) != 1 else ''})", mine))
        if holders.get(name):
            branches.append((f"users ({len(holders[name])})", holders[name]))
        if sets.get(name):
            branches.append((f"permission sets held by its users ({len(sets[name])})", sets[name]))
        out.append((row, name, branches))
    held = {id(u) for us in holders.values() for u in us}
    loose = [r for r in rows if r.kind == "user" and id(r) not in held]
    others = [r for r in rows if r.kind not in ("app", "token", "user", "permset")]
    if loose:
        out.append((None, "", [(f"integration users without tokens ({len(loose)})", loose)]))
    if others:
        out.append((None, "", [(f"other records ({len(others)})", others)]))
    return out


@dataclass(frozen=True)
class Prepared:
    """The records in display order with their search text, computed once per inventory."""

    source: list[InventoryRow]  # as given (identity tells whether it is still current)
    rows: list[InventoryRow]
    hays: list[str]


def prepare(rows: list[InventoryRow]) -> Prepared:
    ordered = sorted(rows, key=lambda r: (SEVERITY_RANK.get(r.worst or "", 9), r.kind, r.name.lower()))
    return Prepared(rows, ordered, [haystack(r) for r in ordered])


@dataclass(frozen=True)
class Layout:
    """What the tree shows for one kind filter and search: the matching records grouped per app, and where each
    record sits (app node key, branch index) until it is drawn."""

    kind: str
    query: str
    shown: list[InventoryRow]
    groups: list[tuple[InventoryRow | None, str, list[Branch]]]
    parents: dict[str, tuple[str, int]]


class Stale(Exception):
    """A newer filter was asked for while this layout was being computed."""


def layout(prepared: Prepared, kind: str, query: str, stale: Callable[[], bool] | None = None) -> Layout:
    """The layout for one filter; `stale` is asked every few thousand records, and a True stops it (Stale), so
    typing a word does not leave a layout per key competing with the console for the interpreter."""
    words = query.lower().split()
    rows, hays = prepared.rows, prepared.hays
    shown: list[InventoryRow] = []
    for start in range(0, len(rows), STALE_CHECK):
        if stale is not None and stale():
            raise Stale
        shown.extend(
            r
            for r, hay in zip(rows[start : start + STALE_CHECK], hays[start : start + STALE_CHECK], strict=True)
            if _kind_ok(r, kind) and all(w in hay for w in words)
        )
    if stale is not None and stale():
        raise Stale
    groups = tree_of(shown)
    parents: dict[str, tuple[str, int]] = {}
    for app_row, name, branches in groups:
        key = app_row.key if app_row else (f"app:{name}" if name else "")
        for index, (_label, members) in enumerate(branches):
            for member in members:
                parents.setdefault(member.key, (key, index))
    return Layout(kind, query, shown, groups, parents)


@dataclass(frozen=True)
class _More:
    """The line under a branch's last drawn record: selecting it draws the next page."""

    branch: TreeNode[Any]


class InventoryPane(Vertical):
    DEFAULT_CSS = """
    InventoryPane > #inventory-bar { height: 1; }
    InventoryPane #inventory-filter { width: auto; padding: 0 1; }
    InventoryPane #inventory-search { height: 1; border: none; width: 1fr; padding: 0 1; }
    InventoryPane > Tree { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[InventoryRow] = []
        self.kind_filter = "all"
        self.query_text = ""
        self.summary = ""
        self.border_title = "3 Inventory"
        self._by_key: dict[str, TreeNode[Any]] = {}  # row key -> its node, once drawn
        self._branches: dict[tuple[str, int], TreeNode[Any]] = {}  # (app node key, branch index) -> branch node
        self._prepared: Prepared | None = None
        self._layout: Layout | None = None  # what the tree shows now
        self._generation = 0  # the latest layout asked for; an older one finishing late is dropped
        self._plain: tuple[Prepared, Layout] | None = None  # the unfiltered layout of a large inventory
        self._mounted = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="inventory-bar"):
            yield Static("", id="inventory-filter")
            yield Input(placeholder="/ search", id="inventory-search")
        yield Static(EMPTY, classes="empty")
        tree: Tree[Any] = Tree("inventory", id="inventory-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree

    def on_mount(self) -> None:
        self._mounted = True
        self._show()

    @property
    def records(self) -> Tree[Any]:
        return self.query_one(Tree)

    @property
    def cursor_widget(self) -> Tree[Any]:
        return self.records

    def shows(self, query: str, kind: str | None = None) -> bool:
        """Whether the tree on screen is the result of this search (and kind filter)."""
        shown = self._layout
        return shown is not None and shown.query == query and (kind is None or shown.kind == kind)

    def visible_rows(self) -> list[InventoryRow]:
        """The records the tree shows now (those matching the filter and search last laid out)."""
        return list(self._layout.shown) if self._layout is not None else []

    def selected(self) -> InventoryRow | None:
        node = self.records.cursor_node
        data = node.data if node is not None else None
        return data if isinstance(data, InventoryRow) else None

    def select(self, key: str) -> None:
        node = self._node_for(key)
        if node is not None:
            tree = self.records
            tree._tree_lines  # lays out the lines of branches just opened, so the node has its line  # noqa: B018
            tree.move_cursor(node)

    def _node_for(self, key: str) -> TreeNode[Any] | None:
        shown = self._layout
        if key not in self._by_key and shown is not None and key in shown.parents:
            app_key, index = shown.parents[key]
            app_node = self._by_key.get(app_key) if app_key else self.records.root
            branch = self._branches.get((app_key, index))
            if app_node is not None and branch is not None and isinstance(branch.data, list):
                position = next((i for i, m in enumerate(branch.data) if m.key == key), None)
                if position is not None and position < SELECT_DRAWS:
                    app_node.expand()
                    self._fill(app_node)
                    branch.expand()
                    self._fill(branch, upto=position)
        return self._by_key.get(key)

    def set_rows(self, rows: list[InventoryRow], summary: str = "") -> None:
        self.summary = summary
        if len(rows) <= SYNC_ROWS:
            self._prepared = prepare(rows)
            self.rows = self._prepared.rows
        else:
            self.rows = rows  # sorted off the UI thread, with the first layout
        self._show()

    def set_filter(self, kind: str | None = None, query: str | None = None) -> None:
        if kind is not None:
            self.kind_filter = kind
        if query is not None:
            self.query_text = query
            search = self.query_one("#inventory-search", Input)
            if search.value != query:
                search.value = query
        self._show()

    def cycle_kind(self) -> str:
        i = KIND_FILTERS.index(self.kind_filter) if self.kind_filter in KIND_FILTERS else 0
        self.set_filter(kind=KIND_FILTERS[(i + 1) % len(KIND_FILTERS)])
        return self.kind_filter

    def _show(self, keep: str | None = None) -> None:
        """Lay the tree out for the current filter: at once for a small inventory, else in a worker thread."""
        if not self._mounted:  # not mounted yet: on_mount draws them
            return
        if keep is None:
            current = self.selected()
            keep = current.key if current else None
        self._generation += 1
        rows, kind, query, generation = self.rows, self.kind_filter, self.query_text, self._generation
        prepared = self._prepared
        if prepared is not None and prepared.source is not rows and prepared.rows is not rows:
            prepared = None
        if prepared is not None and len(rows) <= SYNC_ROWS:
            self._apply(layout(prepared, kind, query), keep, generation)
            return

        def work() -> None:
            ready = prepared or prepare(rows)
            self._prepared = ready
            plain = kind == "all" and not query.strip()  # every record: laid out once per inventory
            cached = self._plain if plain and self._plain is not None and self._plain[0] is ready else None
            try:
                shown = (
                    replace(cached[1], query=query)
                    if cached
                    else layout(ready, kind, query, stale=lambda: generation != self._generation)
                )
            except Stale:
                return  # a newer filter was asked for meanwhile; its own worker lays it out
            if plain:
                self._plain = (ready, shown)
            self.app.call_from_thread(self._apply, shown, keep, generation, ready)

        self.run_worker(work, thread=True, group="inventory-layout", description="laying out the inventory")

    def _apply(self, shown: Layout, keep: str | None, generation: int, ready: Prepared | None = None) -> None:
        """Draw a layout: app nodes and branch lines with their counts; records only in opened branches."""
        if generation != self._generation:
            return  # a newer filter was asked for meanwhile
        if ready is not None and ready.source is self.rows:
            self.rows = ready.rows
        tree = self.records
        filtered = shown.kind != "all" or bool(shown.query.strip())
        tree.clear()
        self._by_key, self._branches, self._layout = {}, {}, shown
        for app_row, name, branches in shown.groups:
            if app_row is not None or name:
                node = tree.root.add(label_of(app_row) if app_row else Text(name, style="bold"), data=app_row)
                key = app_row.key if app_row else f"app:{name}"
                self._by_key[key] = node
            else:
                node = tree.root
                key = ""
            for index, (label, members) in enumerate(branches):
                branch = node.add(Text(label, style="dim"), data=members)
                self._branches[(key, index)] = branch
                if node is tree.root or filtered:
                    self._fill(branch)
                    branch.expand()
            if filtered and node is not tree.root:
                node.expand()
        label = f"[{shown.kind}] {len(shown.shown)}/{len(self.rows)}"
        self.query_one("#inventory-filter", Static).update(Text(label))
        self.query_one(".empty", Static).display = not self.rows
        tree.display = bool(self.rows)
        if self.summary:
            self.border_subtitle = self.summary
        if keep:
            self.select(keep)

    def _fill(self, node: TreeNode[Any], upto: int = 0) -> None:
        """Draw a branch's records when it is opened, a page at a time (at least up to position `upto`); for an
        app node, fill its opened branches."""
        members = node.data
        if not isinstance(members, list):
            for child in node.children:
                if isinstance(child.data, list) and child.is_expanded:
                    self._fill(child)
            return
        drawn = sum(1 for c in node.children if isinstance(c.data, InventoryRow))
        if drawn > upto or drawn >= len(members):
            return
        for child in list(node.children):
            if isinstance(child.data, _More):
                child.remove()
        end = min(len(members), max(drawn + PAGE, upto + 1))
        for member in members[drawn:end]:
            self._by_key[member.key] = node.add_leaf(label_of(member), data=member)
        if end < len(members):
            rest = len(members) - end
            node.add_leaf(Text(f"… {rest:,} more (enter: the next {min(PAGE, rest)})", style="dim"), data=_More(node))

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        more = event.node.data
        if isinstance(more, _More):
            event.stop()
            drawn = sum(1 for c in more.branch.children if isinstance(c.data, InventoryRow))
            self._fill(more.branch, upto=drawn + PAGE - 1)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        self._fill(event.node)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "inventory-search":
            event.stop()
            self.query_text = event.value
            self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "inventory-search":
            event.stop()
            self.records.focus()
