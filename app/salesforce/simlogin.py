"""The simulated org's demo login: the credentials `--org sim` logs in with.

It lives with the client, not with the simulator: the simulated org stands alone (it imports no area and no
client), and the client reaches it only over HTTPS like any org. The demo user is read from the seed the running
simulator reports (a file on this machine), else from the shipped default seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.base.errors import UsageError, WarroomError

if TYPE_CHECKING:
    from app.salesforce.client import OrgCredentials

SIM_ALIAS = "sim"


def sim_credentials(instance_url: str, ca: Path) -> OrgCredentials:
    """The simulated org's demo login: the first seeded user with a password, from the seed the running
    simulator reports (`/__sim/info`), else the shipped default seed."""
    import requests

    from app.salesforce.client import Offline, OrgCredentials, TlsFailure
    from app.simorg.seed import load_seed

    url = instance_url.rstrip("/")
    if not url.startswith("https://"):
        raise UsageError(f"--instance-url {instance_url!r}: the simulated org speaks https only")
    if not Path(ca).expanduser().is_file():
        raise UsageError(f"--ca {ca}: no such file (the simulated org prints its certificate path when it starts)")
    session = requests.Session()
    session.trust_env = False
    try:
        info = session.get(f"{url}/__sim/info", verify=str(Path(ca).expanduser()), timeout=10).json()
    except requests.exceptions.SSLError:
        raise TlsFailure(
            f"the simulated org at {url} is not trusted with --ca {ca}: is it the certificate this simulator printed?"
        ) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
        raise Offline(
            f"cannot reach the simulated org at {url}: is it running? working offline? import a "
            "snapshot written earlier with `warroom inventory import FILE_OR_DIR`"
        ) from None
    except ValueError:
        info = {}
    finally:
        session.close()
    seed_path = info.get("seed") if isinstance(info, dict) else None
    loaded = load_seed(Path(seed_path) if seed_path and Path(seed_path).is_file() else None)
    demo = next((u for u in loaded.seed.users if u.password is not None), None)
    if demo is None:
        raise WarroomError(f"the simulated org's seed {loaded.path} has no user with a password to log in as")
    return OrgCredentials(
        kind="password",
        alias=SIM_ALIAS,
        username=demo.username,
        password=demo.password,
        security_token=demo.security_token or None,
        instance_url=url,
        ca=str(Path(ca).resolve()),
    )
