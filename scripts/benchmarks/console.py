"""Console figures: start-up, key-to-repaint latency and idle CPU, on the real app built by the real factory."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.base.clock import SystemClock
from app.composition.context import Context
from app.composition.projections import REGISTRY
from app.composition.workspace import Workspace
from app.journal.chain import Journal

# Fifty jurisdictions with residents: enough applicable rules for about fifty clocks.
RESIDENT_CODES = (
    "EU",
    "GB",
    "BR",
    "CA",
    "AU",
    "JP",
    "SG",
    "IN",
    "ZA",
    "NZ",
    "KR",
    "CH",
    "MX",
    "AR",
    "CO",
    "US-CA",
    "US-TX",
    "US-NY",
    "US-FL",
    "US-WA",
    "US-MA",
    "US-IL",
    "US-CO",
    "US-VT",
    "US-ME",
    "US-NJ",
    "US-OR",
    "US-MD",
    "US-CT",
    "US-DE",
    "US-AZ",
    "US-NM",
    "US-TN",
    "US-IN",
    "US-OH",
    "US-WI",
    "US-RI",
    "US-SD",
    "US-LA",
    "US-AL",
    "US-PR",
)


class _NoKeyring:
    priority = 0


def _ctx(home: Path) -> Context:
    return Context(home=home, actor="bench", clock=SystemClock(), keyring=_NoKeyring())


def _build(journal_path: Path) -> tuple[Any, Any]:
    from screens.factory import build_app
    from screens.settings import ConsoleSettings

    home = journal_path.parent.parent.parent
    ctx = _ctx(home)
    incident = ctx.workspace.open(journal_path.parent.name)
    settings = ConsoleSettings(save_view=False)
    return build_app(ctx, incident, ctx.clock, None, settings), incident


async def _first_frame(journal_path: Path) -> float:
    from screens.main import MainScreen

    t0 = time.perf_counter()
    app, incident = _build(journal_path)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            while not isinstance(app.screen, MainScreen):
                await pilot.pause()
            await pilot.pause()
            elapsed = time.perf_counter() - t0
            await app.workers.wait_for_complete()
    finally:
        incident.close()
    return elapsed


def first_frame_seconds(journal_path: Path) -> float:
    return asyncio.run(_first_frame(journal_path))


def _loaded_incident(cfg: Any) -> Path:
    """An incident with ~50 running clocks and an inventory of `inventory_rows` tokens."""
    from app import deadlines as dl
    from app import inventory
    from app.salesforce.client import Org, OrgCredentials
    from app.simorg import SimOrg
    from benchmarks.figures import _bench_seed

    home = cfg.work / "fig4"
    ws = Workspace(home, SystemClock(), _NoKeyring())
    incident = ws.create("latency bench", "bench")
    rules = dl.load_rules()
    dl.set_fact(incident.journal, "aware", "2026-11-27T08:00:00Z", "bench", rules)
    dl.set_fact(incident.journal, "categories", "contact,financial,government_id", "bench", rules)
    for code in RESIDENT_CODES:
        dl.set_fact(incident.journal, f"residents.{code}", "5000", "bench", rules)
    sim = SimOrg.start(_bench_seed(cfg), cert_dir=home / "cert")
    try:
        login = sim.demo_login
        creds = OrgCredentials(
            kind="password",
            alias="bench",
            username=login.username,
            password=login.password,
            security_token=login.security_token,
            instance_url=sim.url,
        )
        with Org.login(creds, ca_path=sim.ca_path) as org:
            snap = inventory.pull(org)
        inventory.save_snapshot(incident, snap, "bench")
    finally:
        sim.stop()
    timers = [
        t
        for t in dl.incident_timers(incident.journal, SystemClock().now(), rules)
        if t.state not in ("not_applicable",)
    ]
    path = incident.journal.path
    incident.close()
    cfg._cache["fig4_clocks"] = len(timers)
    cfg._cache["fig4_path"] = path
    return path


async def _keypresses(path: Path, presses: int) -> list[float]:
    from screens.main import MainScreen

    app, incident = _build(path)
    samples: list[float] = []
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            while not isinstance(app.screen, MainScreen):
                await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("1")
            await pilot.pause()
            journal: Journal = incident.journal
            from textual import events

            flushed: list[asyncio.Event] = []
            original_flush = app._flush_refresh

            def flush_and_mark() -> None:
                original_flush()  # panes updated from the committed entry
                for event in flushed:
                    app.screen.call_after_refresh(event.set)  # ... and set once that update is on screen
                flushed.clear()

            app._flush_refresh = flush_and_mark
            for _ in range(presses):
                before = journal.head().size
                painted = asyncio.Event()
                t0 = time.perf_counter()
                key = events.Key("x", "x")
                key.set_sender(app)
                app._driver.send_message(key)  # as a terminal key press arrives
                flushed.append(painted)
                await painted.wait()
                assert journal.head().size > before  # the first change also records the checklist source
                samples.append(time.perf_counter() - t0)
                await pilot.pause()
    finally:
        incident.close()
    return samples


def keypress_samples(cfg: Any) -> tuple[list[float], float]:
    path = cfg._cache.get("fig4_path") or _loaded_incident(cfg)
    samples = asyncio.run(_keypresses(path, cfg.keypresses))
    # Floor: the durable append alone, same journal, same entry kind and size.
    with Journal.open(path, SystemClock(), registry=REGISTRY) as journal:
        t0 = time.perf_counter()
        n = max(20, cfg.keypresses // 2)
        for i in range(n):
            journal.append("note", {"text": f"floor {i}"}, "bench")
        floor = (time.perf_counter() - t0) / n
    return samples, floor


def idle_cpu_percent(cfg: Any) -> float:
    """CPU used by the console process while it only ticks its clocks."""
    if not shutil.which("tmux"):
        raise RuntimeError("figure 7 needs tmux to give the console a real terminal")
    path = cfg._cache.get("fig4_path") or _loaded_incident(cfg)
    home = path.parent.parent.parent
    session = f"warroom-bench-{os.getpid()}"
    # A running tmux server gives new sessions its own environment, not ours: name the variables in the command.
    cmd = (
        f"cd {shlex.quote(str(Path(__file__).resolve().parents[2]))} && env WARROOM_HOME={shlex.quote(str(home))} "
        f"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring {shlex.quote(sys.executable)} -m screens.entry "
        f"open {path.parent.name}"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd], check=True)
    try:
        pid = int(
            subprocess.run(
                ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        time.sleep(25)  # start-up, loading a 100k-row inventory, first verify and paint are not idle time
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu() -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        c0, t0 = cpu(), time.monotonic()
        time.sleep(cfg.idle_seconds)
        c1, t1 = cpu(), time.monotonic()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return 100.0 * (c1 - c0) / (t1 - t0)
