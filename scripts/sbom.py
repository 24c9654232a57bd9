"""A CycloneDX 1.5 SBOM (JSON) of a wheelhouse, written from the lock and the wheels actually in it.

Each locked runtime dependency is a `library` component with its package URL (pkg:pypi/NAME@VERSION) and, as
`distribution` external references, the wheel files of it that the wheelhouse holds, each with its SHA-256;
warroom itself is the BOM's subject (metadata.component); `dependencies` follows the lock's `# via` notes.
Field names and values follow the CycloneDX 1.5 JSON reference.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from install_offline import sha256_file
from lockfile import Pin


def _purl(name: str, version: str) -> str:
    return f"pkg:pypi/{re.sub(r'[-_.]+', '-', name).lower()}@{version}"


def write(
    path: Path, own: Path, own_version: str, pins: list[Pin], wheels: dict[str, list[Path]], via: dict[str, list[str]]
) -> None:
    own_ref = _purl("warroom", own_version)
    components = []
    for pin in sorted(pins, key=lambda p: p.name):
        files = wheels.get(pin.name, [])
        if not files:
            continue  # a pin no target needed (none is left out otherwise): not in the wheelhouse
        components.append(
            {
                "type": "library",
                "bom-ref": _purl(pin.name, pin.version),
                "name": pin.name,
                "version": pin.version,
                "purl": _purl(pin.name, pin.version),
                "externalReferences": [
                    {
                        "type": "distribution",
                        "url": f"wheels/{f.name}",
                        "hashes": [{"alg": "SHA-256", "content": sha256_file(f)}],
                    }
                    for f in files
                ],
            }
        )
    present = {c["name"]: c["bom-ref"] for c in components}
    depends: dict[str, list[str]] = {own_ref: []}
    for name, parents in via.items():
        if name not in present:
            continue
        for parent in parents:
            ref = own_ref if parent == "warroom" else present.get(parent)
            if ref is not None:
                depends.setdefault(ref, []).append(present[name])
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "component": {
                "type": "application",
                "bom-ref": own_ref,
                "name": "warroom",
                "version": own_version,
                "purl": own_ref,
                "externalReferences": [
                    {
                        "type": "distribution",
                        "url": f"wheels/{own.name}",
                        "hashes": [{"alg": "SHA-256", "content": sha256_file(own)}],
                    }
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": ref, "dependsOn": sorted(set(deps))} for ref, deps in sorted(depends.items())],
    }
    path.write_text(json.dumps(bom, indent=2) + "\n", encoding="utf-8")
