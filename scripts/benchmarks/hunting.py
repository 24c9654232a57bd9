"""Figure 9, hunting at log scale: generated Event Log Files with Salesforce's documented headers, indexed into
the analysis database, then hunted twice (the first indicator file, then a new one), against `grep -F -f` over
the same files as the floor. Each measured step runs in its own process, so its peak memory is its own.

Run as a module by the figure itself: `python -m benchmarks.hunting PHASE HOME [IOC_FILE]`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.base.clock import SystemClock
from app.base.sfschema import salesforce_schema
from app.composition.workspace import Workspace
from benchmarks.common import Result
from benchmarks.figures import _NoKeyring

# The mix of a real org's logs by share of rows (URI and API traffic dominate; logins and exports are rarer).
MIX = {"RestApi": 30, "API": 25, "URI": 20, "Report": 8, "Login": 7, "BulkApi2": 5, "ReportExport": 3, "Logout": 2}
USERS = 300
ATTACKER_IPS = ["203.0.113.17", "203.0.113.44", "198.51.100.9"]
ATTACKER_UA = "python-requests/2.28.1"
NEW_WAVE_IPS = ["192.0.2.77", "192.0.2.78"]
NEW_WAVE_UA = "Salesforce-Multi-Org-Client/0.3"
ORG_ID = "00D5e000000AbCdEAA"
START = datetime(2025, 8, 1, tzinfo=UTC)
_OBJECTS = ["Account", "Contact", "Opportunity", "Case", "Lead", "User", "Task", "EmailMessage"]
_UAS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/139.0", "SFDC-Integration/4.2", "Dataloader/60.0"]


def _user_id(n: int) -> str:
    return f"0055e00000{n:05d}AAA"


def _row(kind: str, columns: list[str], rng: random.Random, at: datetime, n: int, who: str) -> list[str]:
    """One row: values shaped like the documented column (ids, times, URIs, counts); `who` is normal, attacker
    (the first advisory) or new (the second)."""
    user = rng.randrange(USERS)
    if who == "attacker":
        ip, ua, obj = rng.choice(ATTACKER_IPS), ATTACKER_UA, rng.choice(["Contact", "Account", "Case"])
    elif who == "new":
        ip, ua, obj = rng.choice(NEW_WAVE_IPS), NEW_WAVE_UA, "Opportunity"
    else:
        ip, ua = f"34.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", rng.choice(_UAS)
        obj = rng.choice(_OBJECTS)
    query = f"/services/data/v60.0/query?q=SELECT+Id,Name+FROM+{obj}+LIMIT+2000"
    values = {
        "EVENT_TYPE": kind,
        "TIMESTAMP": at.strftime("%Y%m%d%H%M%S.") + f"{at.microsecond // 1000:03d}",
        "TIMESTAMP_DERIVED": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "REQUEST_ID": f"4{n:012x}Tq{rng.randrange(1 << 20):05x}",
        "ORGANIZATION_ID": ORG_ID,
        "USER_ID": _user_id(user)[:15],
        "USER_ID_DERIVED": _user_id(user),
        "CLIENT_IP": ip,
        "SOURCE_IP": ip,
        "USER_AGENT": ua,
        "BROWSER_TYPE": ua,
        "CLIENT_NAME": ua,
        "USER_NAME": f"user{user}@example.com",
        "URI": query
        if kind == "RestApi"
        else "/services/Soap/u/60.0"
        if kind == "API"
        else f"/lightning/r/{obj}/{rng.randrange(1 << 30):x}/view",
        "ENTITY_NAME": obj,
        "ENTITY_TYPE": obj,
        "METHOD": "GET",
        "METHOD_NAME": "query",
        "API_TYPE": "R" if kind == "RestApi" else "E",
        "ROWS_PROCESSED": str(rng.randrange(2000) if who == "normal" else 2000),
        "RECORDS_PROCESSED": str(rng.randrange(50_000)),
        "ROW_COUNT": str(rng.randrange(500)),
        "STATUS_CODE": "200",
        "REQUEST_STATUS": "S",
        "LOGIN_STATUS": "LOGIN_NO_ERROR",
        "JOB_ID": f"7505e0000{rng.randrange(1 << 28):09x}",
        "JOB_STATUS": rng.choice(["UploadComplete", "JobComplete", "Deleted"]),
        "OPERATION_TYPE": "query",
    }
    return [values.get(c) or str(rng.randrange(1, 5000)) for c in columns]


def generate(folder: Path, total_bytes: int, seed: int = 20) -> list[tuple[Path, str]]:
    """Daily files of each event type until `total_bytes` are written; attacker rows sprinkled in."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    schema = salesforce_schema()
    days = max(3, min(30, total_bytes // (10 << 20)))
    per_file = total_bytes // (days * sum(MIX.values()))
    files: list[tuple[Path, str]] = []
    n = 0
    for day in range(days):
        for kind, share in MIX.items():
            log_type = schema.log_type(kind)
            assert log_type is not None, kind
            path = folder / f"{kind}-{(START + timedelta(days=day)):%Y-%m-%d}.csv"
            budget = per_file * share
            with path.open("w", encoding="utf-8", newline="") as fh:
                out = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
                out.writerow(log_type.columns)
                while fh.tell() < budget:
                    n += 1
                    at = START + timedelta(days=day, seconds=rng.randrange(86_400), microseconds=n % 1000 * 1000)
                    roll = rng.random()
                    who = "attacker" if roll < 1 / 2000 else "new" if roll < 1 / 2000 + 1 / 5000 else "normal"
                    out.writerow(_row(kind, log_type.columns, rng, at, n, who))
            files.append((path, kind))
    return files


def _ioc_files(folder: Path) -> tuple[Path, Path, Path]:
    first = folder / "advisory.toml"
    first.write_text(
        'format = 1\nname = "advisory"\n[[indicator]]\nkind = "ip"\nvalues = '
        + json.dumps(ATTACKER_IPS)
        + f'\n[[indicator]]\nkind = "user_agent"\nvalues = ["{ATTACKER_UA}"]\n',
        encoding="utf-8",
    )
    second = folder / "new-infrastructure.toml"
    second.write_text(
        'format = 1\nname = "new-infrastructure"\n[[indicator]]\nkind = "ip"\nvalues = ["192.0.2.0/24"]\n'
        f'[[indicator]]\nkind = "user_agent"\nvalues = ["{NEW_WAVE_UA}"]\n',
        encoding="utf-8",
    )
    fixed = folder / "advisory.txt"
    fixed.write_text("\n".join([*ATTACKER_IPS, ATTACKER_UA]) + "\n", encoding="utf-8")
    return first, second, fixed


def _child(phase: str, home: Path, *extra: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.hunting", phase, str(home), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"{phase}: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def hunting(cfg: Any) -> Result:
    """Hunting at log scale: indexing vs grep -F -f, first hunt, re-hunt with a new indicator file, peak memory."""
    base = cfg.work / "fig9"
    files = generate(base / "logs", cfg.hunt_bytes)
    size = sum(p.stat().st_size for p, _ in files)
    first, second, fixed = _ioc_files(base)
    t0 = time.perf_counter()
    subprocess.run(
        ["grep", "-F", "-h", "-f", str(fixed), *[str(p) for p, _ in files]],
        stdout=subprocess.DEVNULL,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    grep_s = time.perf_counter() - t0
    home = base / "home"
    incident = Workspace(home, SystemClock(), _NoKeyring()).create("hunting benchmark", "bench")
    incident.observers = []  # indexing is measured on its own below
    for path, kind in files:
        incident.add_evidence(path, "bench", source={"format": "elf-csv", "event_type": kind})
    incident.close()
    index = _child("index", home)
    hunt1 = _child("hunt", home, str(first))
    hunt2 = _child("hunt", home, str(second))
    plain = _child("scan", home, str(second))
    mb = size / 1e6
    index_rate, grep_rate = mb / index["seconds"], mb / grep_s
    peak = max(r["peak_mb"] for r in (index, hunt1, hunt2))
    same = plain["hits"] == hunt2["hits"] and plain["digest"] == hunt2["digest"]
    met = hunt2["seconds"] < 1.0 and peak < 500 and same
    return Result(
        9,
        "hunting",
        f"{mb:,.0f} MB of Event Log Files ({len(files)} files, {index['rows']:,} rows)",
        f"index {index_rate:.1f} MB/s; first hunt {hunt1['seconds']:.2f} s; re-hunt {hunt2['seconds']:.2f} s; "
        f"peak {peak:.0f} MB",
        f"grep -F -f {grep_rate:.0f} MB/s",
        grep_rate / index_rate,
        "re-hunt < 1 s, peak < 500 MB",
        met,
        notes=[
            f"Indexing {index['seconds']:.1f} s wall, {index['cpu']:.1f} s CPU ({index['peak_mb']:.0f} MB peak; "
            f"{mb / index['cpu']:.1f} MB per CPU second); first hunt ({hunt1['hits']} hits) "
            f"{hunt1['seconds']:.2f} s (CPU {hunt1['cpu']:.2f} s); re-hunt with a new indicator file "
            f"({hunt2['hits']} hits) {hunt2['seconds']:.2f} s (CPU {hunt2['cpu']:.2f} s); the same hunt by "
            f"re-reading every file {plain['seconds']:.1f} s (CPU {plain['cpu']:.1f} s) "
            f"({'same hits' if same else 'DIFFERENT hits'}). grep -F -f over the same files {grep_s:.2f} s. "
            "Hunt times are inside the process (opening the incident and catching the index up included, "
            "interpreter start-up not); peak is each step's maximum resident set."
        ],
    )


def _phase(phase: str, home: Path, ioc: Path | None) -> dict[str, Any]:
    from app import hunt

    with Workspace(home, SystemClock(), _NoKeyring()).open() as incident:
        t0, c0 = time.perf_counter(), time.process_time()
        if phase == "index":
            status = hunt.refresh_index(incident, rebuild=True)
            out: dict[str, Any] = {"rows": status.rows}
        else:
            assert ioc is not None
            sets = [hunt.load_indicators(ioc)]
            result = hunt.hunt(incident, sets, use_index=phase == "hunt")
            keys = "\n".join(h.key for h in result.hits)
            out = {"hits": len(result.hits), "digest": hashlib.sha256(keys.encode()).hexdigest()}
        out["seconds"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - c0
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


if __name__ == "__main__":
    phase_name, home_dir, *rest = sys.argv[1:]
    print(json.dumps(_phase(phase_name, Path(home_dir), Path(rest[0]) if rest else None)))
