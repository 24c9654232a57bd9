"""The inventory as a tree: each connected app, then its tokens (grouped per user), the users holding them and the
permission sets those users hold, with counts; integration users without tokens on their own branch. Risk reads in
words (`critical risk`), the containment status follows each record, and the kind filter and search (`/`) show only
matching records. Branches fill in when opened, so a 100k-token org draws only what is expanded."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def matches(row: InventoryRow, kind: str, query: str) -> bool:
    if kind == "findings" and not row.findings:
        return False
    if kind not in ("all", "findings") and row.kind != kind:
        return False
    if not query:
        return True
    hay = " ".join([row.name, row.detail, row.kind, row.containment, *(t for _, t in row.findings)]).lower()
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
        self._parents: dict[str, tuple[str, int]] = {}  # row key -> (app node key, branch index) not drawn yet
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

    def visible_rows(self) -> list[InventoryRow]:
        return [r for r in self.rows if matches(r, self.kind_filter, self.query_text)]

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
        if key not in self._by_key and key in self._parents:
            app_key, index = self._parents[key]
            app_node = self._by_key.get(app_key)
            if app_node is not None:
                app_node.expand()
                self._fill(app_node)
                branch = app_node.children[index] if index < len(app_node.children) else None
                if branch is not None:
                    branch.expand()
                    self._fill(branch)
        return self._by_key.get(key)

    def set_rows(self, rows: list[InventoryRow], summary: str = "") -> None:
        self.rows = sorted(rows, key=lambda r: (SEVERITY_RANK.get(r.worst or "", 9), r.kind, r.name.lower()))
        self.summary = summary
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
        if not self._mounted:  # not mounted yet: on_mount draws them
            return
        tree = self.records
        if keep is None:
            current = self.selected()
            keep = current.key if current else None
        shown = self.visible_rows()
        filtered = self.kind_filter != "all" or bool(self.query_text.strip())
        tree.clear()
        self._by_key, self._parents = {}, {}
        for app_row, name, branches in tree_of(shown):
            if app_row is not None or name:
                node = tree.root.add(label_of(app_row) if app_row else Text(name, style="bold"), data=app_row)
                key = app_row.key if app_row else f"app:{name}"
                self._by_key[key] = node
            else:
                node = tree.root
                key = ""
            for index, (label, members) in enumerate(branches):
                branch = node.add(Text(label, style="dim"), data=members)
                for member in members:
                    self._parents.setdefault(member.key, (key, index))
                if node is tree.root or filtered:
                    self._fill(branch)
                    branch.expand()
            if filtered and node is not tree.root:
                node.expand()
        label = f"[{self.kind_filter}] {len(shown)}/{len(self.rows)}"
        self.query_one("#inventory-filter", Static).update(Text(label))
        self.query_one(".empty", Static).display = not self.rows
        tree.display = bool(self.rows)
        if self.summary:
            self.border_subtitle = self.summary
        if keep:
            self.select(keep)

    def _fill(self, node: TreeNode[Any]) -> None:
        """Draw a branch's records the first time it is opened."""
        if node.children or not isinstance(node.data, list):
            for child in node.children:
                if isinstance(child.data, list) and child.is_expanded:
                    self._fill(child)
            return
        for member in node.data:
            self._by_key[member.key] = node.add_leaf(label_of(member), data=member)

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
