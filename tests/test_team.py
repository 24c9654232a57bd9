"""A war room as a team: three responders' journals kept in step through a real bare git repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.team_helpers import Team, branch_files, origin_of, rewrite_branch


def merged(team: Team, name: str):
    with team.open(team.people[name]) as incident:
        journal = incident.journal
        size, root = journal.merged_head()
        state = {ns: journal.state(ns) for ns in ("incident", "checklist", "team.responder", "containment")}
        origins = [journal.origin_name(e.seq) for e in journal.entries()]
        return size, root.hex(), state, origins


def test_three_responders_converge(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.ok(team.alice, "note", "commander: bridge open")
    team.tick()
    team.ok(team.bob, "note", "admin: looking at connected apps")
    team.ok(team.carol, "note", "analyst: collecting logs")
    team.sync_all()
    views = [merged(team, n) for n in ("alice", "bob", "carol")]
    assert views[0][:3] == views[1][:3] == views[2][:3]
    _size, _root, state, origins = views[0]
    assert {"alice", "bob", "carol"} <= set(origins)
    assert {r["name"] for r in state["team.responder"].values()} == {"alice", "bob", "carol"}
    assert state["incident"]["title"] == "Chat vendor token theft"


def _rejections(team: Team, name: str) -> list[dict]:
    from app.team.roster import rejections

    with team.open(team.people[name]) as incident:
        return rejections(incident.journal)


def test_offline_for_a_day_hands_over_with_bundles(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.sync_all()
    team.ok(team.carol, "note", "analyst: offline in the data centre")
    for hour in range(3):
        team.tick(8 * 60)
        team.ok(team.carol, "note", f"analyst: hour {8 * (hour + 1)} of the log review")
        team.ok(team.alice, "note", f"commander: status call {hour}")
    out_alice, out_carol = tmp_path / "alice.bundle", tmp_path / "carol.bundle"
    team.ok(team.alice, "sync", "--bundle-out", str(out_alice))
    got = team.ok(team.carol, "sync", "--bundle-in", str(out_alice), "--bundle-out", str(out_carol))
    assert "received 3 entries from 1 origin(s)" in got
    team.ok(team.alice, "sync", "--bundle-in", str(out_carol))
    team.sync_all()
    views = [merged(team, n) for n in ("alice", "bob", "carol")]
    assert views[0][:3] == views[1][:3] == views[2][:3]
    with team.open(team.bob) as incident:
        notes = [(incident.journal.origin_name(e.seq), e.data["text"]) for e in incident.journal.entries(kind="note")]
    assert ("carol", "analyst: hour 24 of the log review") in notes
    # an old bundle handed over again holds nothing new and is no tampering
    assert "received 0 entries" in team.ok(team.carol, "sync", "--bundle-in", str(out_alice))
    assert views[2][:3] == merged(team, "carol")[:3]


def test_conflicting_checklist_state_later_wins_and_is_shown(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.sync_all()
    team.ok(team.alice, "checklist", "set", "detect.commander", "blocked", "--note", "waiting for legal")
    team.tick(2)
    team.ok(team.bob, "checklist", "set", "detect.commander", "done", "--note", "named in the bridge")
    # both mark another item done without having seen each other's: the same thing said twice, no conflict
    team.ok(team.alice, "checklist", "set", "detect.severity", "done", "--note", "sev 1")
    team.ok(team.bob, "checklist", "set", "detect.severity", "done", "--note", "agreed sev 1")
    team.sync_all()
    states, conflicts = [], []
    for name in ("alice", "bob", "carol"):
        with team.open(team.people[name]) as incident:
            states.append(incident.journal.get_state("checklist", "detect.commander")["state"])
        result = team.people[name].cli("team", "conflicts", "--json")
        conflicts.append(result.json())
    assert states == ["done", "done", "done"]
    assert conflicts[0] == conflicts[1] == conflicts[2]
    (conflict,) = conflicts[0]
    assert (conflict["winner"]["responder"], conflict["loser"]["responder"]) == ("bob", "alice")
    assert conflict["key"] == "detect.commander"
    assert (conflict["winner"]["value"], conflict["loser"]["value"]) == ("done", "blocked")
    shown = team.ok(team.carol, "team", "conflicts")
    assert "checklist detect.commander: kept 'done' from bob" in shown and "over 'blocked' from alice" in shown
    # a change made after seeing the other's is no conflict
    team.tick(2)
    team.ok(team.alice, "checklist", "set", "detect.commander", "in_progress", "--note", "reopened")
    team.sync_all()
    assert len(team.carol.cli("team", "conflicts", "--json").json()) == 1


def test_forged_segment_is_refused_and_journaled(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.sync_all()
    team.tick()
    team.ok(team.bob, "note", "admin: revoked the chat app's tokens")
    team.sync(team.bob)
    bob = origin_of(team, team.bob)
    files = branch_files(team.remote, bob)
    name = max(p for p in files if p.startswith("segments/"))
    forged = files[name].replace(b"revoked the chat app", b"did not touch the chat app")
    rewrite_branch(team.remote, bob, {**files, name: forged})
    result = team.carol.cli("sync", str(team.remote))
    assert result.code == 1
    first = int(name.split("/")[1].split("-")[0])
    assert f"TAMPERING: origin bob ({bob[:8]}) seq {first}: bad signature" in result.out
    (rejected,) = _rejections(team, "carol")
    assert (rejected["origin"], rejected["seq"], rejected["reason"]) == (bob, first, "bad signature")
    with team.open(team.carol) as incident:
        texts = [e.data["text"] for e in incident.journal.entries(kind="note")]
    assert not any("chat app" in t for t in texts)
    # the same tampering seen again is reported, not journaled twice
    assert team.carol.cli("sync", str(team.remote)).code == 1
    assert len(_rejections(team, "carol")) == 1


def test_removed_segments_are_named(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.sync_all()
    bob = origin_of(team, team.bob)
    team.tick()
    team.ok(team.bob, "note", "admin: first finding")
    team.sync(team.bob)
    team.tick()
    team.ok(team.bob, "note", "admin: second finding")
    team.sync(team.bob)
    files = branch_files(team.remote, bob)
    names = sorted(p for p in files if p.startswith("segments/"))
    first_seg, middle = names[0], names[-2]
    # carol never had the middle segment: the one after it leaves a gap, named by its first missing seq
    rewrite_branch(team.remote, bob, {p: d for p, d in files.items() if p != middle})
    result = team.carol.cli("sync", str(team.remote))
    assert result.code == 1
    gap_at = int(middle.split("/")[1].split("-")[0])
    assert f"origin bob ({bob[:8]}) seq {gap_at}: gap" in result.out
    # carol had bob's first segment: it disappearing is named too
    rewrite_branch(team.remote, bob, {p: d for p, d in files.items() if p not in (first_seg, middle)})
    result = team.carol.cli("sync", str(team.remote))
    assert f"origin bob ({bob[:8]}) seq 1: removed segment" in result.out
    rejected = _rejections(team, "carol")
    assert {(r["origin"], r["seq"], r["reason"]) for r in rejected} == {
        (bob, gap_at, "gap"),
        (bob, 1, "removed segment"),
    }


def test_a_key_not_in_the_list_is_refused(tmp_path: Path) -> None:
    from tests.conftest import CLI, MemoryKeyring
    from tests.team_helpers import Responder

    team = Team(tmp_path)
    team.sync_all(rounds=1)
    (tmp_path / "mallory").mkdir()
    cli = CLI(tmp_path / "mallory", team.clock, MemoryKeyring())
    cli.actor = "mallory"
    mallory = Responder("mallory", "admin", cli)
    team.ok(mallory, "team", "join", team.incident, "--commander-key", team.alice.key)
    team.ok(mallory, "checklist", "set", "detect.commander", "not_applicable", "--note", "no need")
    team.sync(mallory)
    with team.open(mallory) as incident:
        mallory_origin = incident.journal.journal_id
    # in the same sync, a new segment of bob's and after it something that is not a segment: all reported
    team.ok(team.bob, "note", "admin: still here")
    assert team.bob.cli("sync", str(team.remote)).code == 1  # bob sees mallory too
    bob = origin_of(team, team.bob)
    files = branch_files(team.remote, bob)
    rewrite_branch(team.remote, bob, {**files, "segments/0000000900-0000000900.json": b"not a segment"})
    result = team.carol.cli("sync", str(team.remote))
    assert result.code == 1
    assert f"origin ({mallory_origin[:8]}) seq 1: unknown key" in result.out
    assert f"origin bob ({bob[:8]}) seq 900: unreadable" in result.out
    with team.open(team.carol) as incident:
        assert incident.journal.get_state("checklist", "detect.commander") is None
        assert "admin: still here" in [e.data["text"] for e in incident.journal.entries(kind="note")]
        assert sorted(r["reason"] for r in _rejections(team, "carol")) == ["unknown key", "unreadable"]


def test_journal_verify_checks_every_origin_and_the_merged_root(tmp_path: Path) -> None:
    import sqlite3

    team = Team(tmp_path)
    team.ok(team.bob, "note", "admin: scoped the revocation")
    team.sync_all()
    roots = set()
    for person in team.people.values():
        out = team.ok(person, "journal", "verify")
        assert "team: 2 other origin(s)" in out and "FAILURE" not in out
        roots.add(out.strip().splitlines()[-1])
    assert len(roots) == 1 and next(iter(roots)).startswith("  merged view: ")
    as_json = team.carol.cli("journal", "verify", "--json").json()
    assert as_json["ok"] and as_json["team"]["ok"] and as_json["team"]["origins"] == 2
    assert f"  merged view: {as_json['team']['merged_size']}:{as_json['team']['merged_root']}" in roots
    listed = team.carol.cli("journal", "show", "--json").json()
    assert {row["origin"] for row in listed} == {"alice", "bob", "carol"}
    shown = team.ok(team.carol, "journal", "show", "--kind", "note")
    assert "bob" in shown and "admin: scoped the revocation" in shown
    # someone edits carol's copy of bob's chain behind the triggers' back
    bob = origin_of(team, team.bob)
    db = team.carol.cli.home / "incidents" / team.incident / "team" / "origins.db"
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER origin_entries_no_update")
    rows = conn.execute("SELECT seq, body FROM origin_entries WHERE origin = ?", (bob,)).fetchall()
    seq, body = next((s, b) for s, b in rows if b"scoped" in b)
    conn.execute(
        "UPDATE origin_entries SET body = ? WHERE origin = ? AND seq = ?",
        (body.replace(b"scoped", b"skipped"), bob, seq),
    )
    conn.commit()
    conn.close()
    result = team.carol.cli("journal", "verify")
    assert result.code == 1
    assert f"origin {bob} seq {seq}: the stored chain is broken here" in result.out


def test_appending_on_top_of_the_view_equals_a_full_replay(tmp_path: Path) -> None:
    from app.team.merged import build_view

    team = Team(tmp_path)
    team.ok(team.bob, "note", "admin: first")
    team.sync_all()
    team.tick()
    with team.open(team.carol) as incident:
        journal = incident.journal
        before = journal.merged_head()[0]
        entry = incident.note("analyst: after the sync", "carol")  # the view exists: applied on top of it
        assert entry.seq == before + 1 and journal.origin_name(entry.seq) == "carol"
        (made,) = journal.append_many([("facts.set", {"key": "aware", "value": "2026-11-27T08:00:00Z"}, "carol")])
        fresh = build_view(journal)
        assert [e.entry_hash for e in fresh.entries] == [e.entry_hash for e in journal.entries()]
        assert fresh.state == journal._merged().state and fresh.frontier.root() == journal.merged_head()[1]
        assert journal.entry(made.seq) == made


def _resigned_by_bob(team: Team, text: str) -> tuple[str, dict[str, bytes], dict, int]:
    """bob's last synced segment with its note changed to `text`, re-hashed and re-signed with bob's own key
    (a restored backup, a change of heart): (bob's origin, his branch's files, the new segment, the note's seq)."""
    import base64
    import json

    from app.journal import signing
    from app.journal.canonical import jcs
    from app.journal.merkle import Frontier, leaf_hash

    bob = origin_of(team, team.bob)
    files = branch_files(team.remote, bob)
    name = max((p for p in files if p.startswith("segments/")), key=lambda p: p.split("/")[1])
    doc = json.loads(files[name])
    with team.open(team.bob) as incident:
        key = signing.load_key(bob, incident.dir, incident.journal.genesis["key_store"], team.bob.cli.keyring)
        conn = incident.journal.connection
        hashes = [bytes(r[0]) for r in conn.execute("SELECT entry_hash FROM entries ORDER BY seq")]
    bodies = [json.loads(b) for b in doc["entries"]]
    changed = next(i for i, b in enumerate(bodies) if b["kind"] == "note")
    bodies[changed]["data"]["text"] = text
    prev = bytes.fromhex(doc["prev"])
    frontier = Frontier()
    for h in hashes[: doc["first"] - 1]:
        frontier.append(h)
    raw_bodies = []
    for b in bodies:
        b["prev"] = prev.hex()
        raw = jcs(b)
        prev = leaf_hash(raw)
        frontier.append(prev)
        raw_bodies.append(raw.decode())
    root = frontier.root()
    label = f"warroom/{bob}"
    doc |= {
        "entries": raw_bodies,
        "head": {"size": doc["last"], "root": root.hex(), "head_hash": prev.hex()},
        "note": signing.sign_note(signing.checkpoint_text(label, doc["last"], root), label, key),
    }
    doc.pop("signature")
    doc["signature"] = base64.b64encode(key.sign(jcs(doc))).decode()
    return bob, files, doc, doc["first"] + changed


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [(".json", "changed segment"), (".fork.json", "changed entry")],
    ids=["the-same-file-changed", "a-fork-beside-it"],
)
def test_even_the_key_holder_cannot_rewrite_what_was_synced(tmp_path: Path, suffix: str, reason: str) -> None:
    from app.journal.canonical import jcs

    team = Team(tmp_path)
    team.tick()
    team.ok(team.bob, "note", "admin: tokens revoked at 09:01")
    team.sync_all()
    bob, files, doc, seq = _resigned_by_bob(team, "admin: tokens revoked at 08:01")
    name = f"segments/{doc['first']:010d}-{doc['last']:010d}{suffix}"
    rewrite_branch(team.remote, bob, {**files, name: jcs(doc)})
    result = team.carol.cli("sync", str(team.remote))
    assert result.code == 1
    assert f"origin bob ({bob[:8]}) seq {seq}: {reason}" in result.out
    listed = team.carol.cli("team", "list").out
    assert f"origin bob ({bob[:8]}) seq {seq}: {reason}" in listed
    with team.open(team.carol) as incident:
        texts = [e.data["text"] for e in incident.journal.entries(kind="note")]
    assert "admin: tokens revoked at 09:01" in texts and "admin: tokens revoked at 08:01" not in texts


def test_refusals_on_the_wrong_laptop_or_without_a_remote(tmp_path: Path) -> None:
    team = Team(tmp_path)
    added = team.bob.cli("team", "add", "mallory", "--role", "admin", "--key", "ab" * 32)
    assert added.code == 1 and "only the commander's laptop adds responders" in added.err
    assert team.alice.cli("team", "add", "eve", "--role", "boss").code == 2
    bad = team.alice.cli("team", "add", "eve", "--role", "admin", "--key", "12345")
    assert bad.code == 2 and "not an Ed25519 public key" in bad.err
    nowhere = team.carol.cli("sync")
    assert nowhere.code == 2 and "no remote for this incident" in nowhere.err
    joined = team.carol.cli("team", "join", "INC-1", "--commander-key", team.alice.key)
    assert joined.code == 2 and "not an incident id" in joined.err
    missing = team.carol.cli("sync", str(tmp_path / "no-such.git"))
    assert missing.code == 1 and "git fetch failed" in missing.err
    assert team.carol.cli("sync").code == 2  # a remote that did not answer is not remembered
    # once given, the remote is remembered (journaled) and `warroom sync` alone uses it
    alias = tmp_path / "usb-as-carol-sees-it.git"
    alias.symlink_to(team.remote)
    team.ok(team.carol, "sync", str(alias))
    assert team.ok(team.carol, "sync").startswith(f"{team.incident}: nothing new to send")
    team.sync(team.alice)  # alice reaches it by her own path; carol keeps hers
    for _ in range(2):  # (the second run has alice's remote entry in its merged view)
        assert f"pushed to {alias}" in team.ok(team.carol, "sync")


def test_a_rewrite_of_this_laptops_own_branch_is_named_and_never_overwritten(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.sync(team.alice)
    alice = origin_of(team, team.alice)
    files = branch_files(team.remote, alice)
    planted = "segments/0000000900-0000000900.json"
    rewrite_branch(team.remote, alice, {**files, planted: b"{}"})
    team.tick()
    team.ok(team.alice, "note", "commander: next status call at noon")
    result = team.alice.cli("sync", str(team.remote))
    assert result.code == 1
    assert "The remote refused this laptop's branch" in result.err and "hint" not in result.err
    assert f"TAMPERING: origin alice ({alice[:8]}) seq 900: rewritten" in result.out
    assert planted in branch_files(team.remote, alice)  # warroom never forces its own branch over what is there
    (rejected,) = _rejections(team, "alice")
    assert (rejected["origin"], rejected["seq"], rejected["reason"]) == (alice, 900, "rewritten")


def test_bundle_paths_that_are_not_files_are_refused_by_name(tmp_path: Path) -> None:
    import os

    team = Team(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for args in (("--bundle-in", str(fifo)), ("--bundle-out", str(tmp_path)), ("--bundle-in", str(tmp_path / "x"))):
        result = team.alice.cli("sync", *args)
        assert result.code == 2 and str(args[1]) in result.err, (args, result.err)
    unreadable = tmp_path / "not-a-bundle"
    unreadable.write_bytes(b"hello")
    result = team.alice.cli("sync", "--bundle-in", str(unreadable))
    assert result.code == 1 and "git bundle failed" in result.err
