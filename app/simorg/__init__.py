"""A local, scriptable Salesforce org for demos, tests and tabletop exercises.

`SimOrg.start(seed)` serves the Salesforce REST/OAuth/SOAP-login subset a war-room console uses over TLS on
127.0.0.1, and the Metadata API calls hardening makes (`metadata.py`); `seed` is a shipped scenario name
(`chat-vendor-theft`, `fake-data-loader`) or a TOML/JSON path.
See `server.py` for the runtime API and admin endpoints, `seed.py` for the seed schema.
"""

from app.simorg.seed import DEFAULT_SEED, LoadedSeed, Seed, SeedError, load_seed, resolve_seed
from app.simorg.server import DemoLogin, SimOrg
from app.simorg.store import Store

__all__ = [
    "DEFAULT_SEED",
    "DemoLogin",
    "LoadedSeed",
    "Seed",
    "SeedError",
    "SimOrg",
    "Store",
    "load_seed",
    "resolve_seed",
]
