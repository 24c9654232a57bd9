"""Child process for durability tests: appends entries and prints each seq only after it is committed."""

from __future__ import annotations

import sys
from pathlib import Path

from app.base.clock import SystemClock
from app.composition.projections import REGISTRY
from app.journal.chain import Journal


def main() -> None:
    path, count, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    journal = Journal.open(path, SystemClock(), registry=REGISTRY)
    for i in range(count):
        entry = journal.append("note", {"text": f"{tag} {i}", "writer": tag}, tag)
        sys.stdout.write(f"{entry.seq}\n")
        sys.stdout.flush()
    journal.close()


if __name__ == "__main__":
    main()
