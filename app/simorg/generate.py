"""Generated bulk for large simulated orgs (`[generate]` in a seed): users, tokens, assignments, business records.

Seeded, so the same seed always yields the same rows; rows carry only the fields they need (memory at 100k rows).
"""

from __future__ import annotations

import base64
import random
from datetime import timedelta
from typing import Any

from app.simorg.seed import LoadedSeed, Seed
from app.simorg.store import Store

_FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Ravi",
    "Sara",
    "Tom",
    "Uma",
    "Vic",
    "Wen",
    "Yara",
    "Zed",
]
_LAST = [
    "Abbott",
    "Baker",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Huang",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Smith",
    "Tanaka",
    "Ueda",
    "Varga",
    "Wright",
]
_COMPANY = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Initech",
    "Umbrella",
    "Globex",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wayne",
    "Stark",
    "Tyrell",
    "Cyberdyne",
    "Acme",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Massive Dynamic",
]
_SUFFIX = ["Ltd", "GmbH", "Inc", "LLC", "SA", "BV", "plc", "Group", "Holdings", "Labs"]
_INDUSTRY = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education", "Energy", "Media"]
_CASE_SUBJECT = [
    "Cannot log in",
    "Invoice question",
    "Feature request",
    "Integration error",
    "Data export help",
    "Password reset",
    "Billing address change",
    "API limit reached",
    "Sync delayed",
    "Bug report",
]
_STAGES = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]
_COUNTRIES = ["US", "DE", "FR", "GB", "NL", "JP", "BR", "CA", "AU", "IN"]


def generate(store: Store, seed: Seed, builder: Any) -> None:
    """Add the `[generate]` bulk deterministically; rows carry only the fields they need (memory)."""
    gen = seed.generate
    if not any(
        (
            gen.users,
            gen.tokens,
            gen.assignments,
            gen.accounts,
            gen.contacts,
            gen.cases,
            gen.opportunities,
            gen.login_history,
        )
    ):
        return
    rng = random.Random(gen.seed)
    now = seed.organization.now
    start = gen.start or now - timedelta(days=90)
    span = max(1, int((now - start).total_seconds()))
    # A pool of shared timestamps keeps 100k rows from holding 100k datetime objects.
    pool = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(4096))
    keys = builder.keys
    s = store
    profile_key = gen.user_profile or seed.profiles[0].key
    profile_id = keys["profiles"][profile_key]
    profile_ps = keys["profile_permission_sets"][profile_key]
    user_ids: list[str] = []
    domain = gen.email_domain
    rand = rng.random
    npool = len(pool)

    def pick(n: int) -> int:  # random.randrange is ten times slower, and 100k rows call it often
        return int(rand() * n)

    users, logins, psas = s.tables["User"], s.tables["UserLogin"], s.tables["PermissionSetAssignment"]
    exact = gen.inactive_users is not None
    inactive = set(rng.sample(range(gen.users), gen.inactive_users or 0)) if exact else set()
    with s.lock:
        for n in range(gen.users):
            first, last = _FIRST[pick(len(_FIRST))], _LAST[pick(len(_LAST))]
            username = f"{first.lower()}.{last.lower()}{n:05d}@{domain}"
            created = pool[pick(npool // 2)]
            user_id = s.new_id("User")
            users.insert(
                {
                    "Id": user_id,
                    "Username": username,
                    "FirstName": first,
                    "LastName": last,
                    "Name": f"{first} {last}",
                    "Email": username,
                    "UserType": "Standard",
                    "IsActive": (n not in inactive) if exact else rand() > 0.05,
                    "ProfileId": profile_id,
                    "CreatedDate": created,
                    "LastModifiedDate": created,
                    "LastLoginDate": pool[npool // 2 + pick(npool - npool // 2)],
                }
            )
            user_ids.append(user_id)
            logins.insert(
                {
                    "Id": s.new_id("UserLogin"),
                    "UserId": user_id,
                    "IsFrozen": False,
                    "IsPasswordLocked": False,
                    "LastModifiedDate": created,
                }
            )
            psas.insert(
                {
                    "Id": s.new_id("PermissionSetAssignment"),
                    "AssigneeId": user_id,
                    "PermissionSetId": profile_ps,
                    "IsActive": True,
                    "SystemModstamp": created,
                }
            )
    holders = user_ids or list(keys["users"].values())
    nholders = len(holders)
    if gen.tokens:
        app_keys = gen.token_apps or [a.key for a in seed.connected_apps]
        apps = [(builder.app_name(k), keys["app_menu_items"].get(k)) for k in app_keys]
        table = s.tables["OauthToken"]
        bits = rng.getrandbits
        use_counts = list(range(5001))  # one int object per count, not one per token (1M tokens)
        with s.lock:
            for _ in range(gen.tokens):
                name, menu = apps[pick(len(apps))]
                i = pick(npool)
                row = {
                    "AppName": name,
                    "UserId": holders[pick(nholders)],
                    "CreatedDate": pool[i],
                    "LastUsedDate": pool[i + pick(npool - i)],
                    "UseCount": use_counts[1 + pick(4999)],
                    "DeleteToken": base64.urlsafe_b64encode(bits(192).to_bytes(24, "big")).decode(),
                }
                if menu:
                    row["AppMenuItemId"] = menu
                table.insert(row)
    if gen.assignments:
        ps_keys = gen.assignment_permission_sets or [p.key for p in seed.permission_sets]
        ps_ids = [keys["permission_sets"][k] for k in ps_keys]
        have = {(r["AssigneeId"], r["PermissionSetId"]) for r in psas.rows.values()}
        nps = len(ps_ids)
        total = nholders * nps
        target = min(gen.assignments, total)
        # Distinct (user, permission set) pairs, sampled without replacement so a dense target stays linear.
        order = rng.sample(range(total), min(total, target + len(have)))
        made = 0
        with s.lock:
            for i in order:
                if made >= target:
                    break
                pair = (holders[i // nps], ps_ids[i % nps])
                if pair in have:
                    continue
                psas.insert(
                    {
                        "Id": s.new_id("PermissionSetAssignment"),
                        "AssigneeId": pair[0],
                        "PermissionSetId": pair[1],
                        "IsActive": True,
                        "SystemModstamp": pool[pick(npool)],
                    }
                )
                made += 1
            s._perm_cache.clear()
    owners = list(keys["users"].values())[:20] or holders
    account_ids: list[str] = []
    for n in range(gen.accounts):
        name = f"{rng.choice(_COMPANY)} {rng.choice(_SUFFIX)} {n:05d}"
        row = s.insert(
            "Account",
            {
                "Name": name,
                "Industry": rng.choice(_INDUSTRY),
                "Type": "Customer",
                "AnnualRevenue": float(rng.randrange(1, 500) * 100_000),
                "Phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                "BillingCountry": rng.choice(_COUNTRIES),
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
        account_ids.append(row["Id"])
    contact_ids: list[str] = []
    for n in range(gen.contacts):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        row = s.insert(
            "Contact",
            {
                "AccountId": account_ids[rng.randrange(len(account_ids))] if account_ids else None,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": f"{first.lower()}.{last.lower()}{n}@customer.example",
                "Phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                "MailingCountry": rng.choice(_COUNTRIES),
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
        contact_ids.append(row["Id"])
    case_base = s.count("Case")
    for n in range(gen.cases):
        subject = rng.choice(_CASE_SUBJECT)
        s.insert(
            "Case",
            {
                "CaseNumber": f"{case_base + n + 1:08d}",
                "Subject": subject,
                "Description": f"Customer reports: {subject.lower()}. Ticket {n}.",
                "Status": rng.choice(["New", "Working", "Escalated", "Closed"]),
                "Priority": rng.choice(["Low", "Medium", "High"]),
                "Origin": rng.choice(["Web", "Email", "Phone", "Chat"]),
                "AccountId": account_ids[rng.randrange(len(account_ids))] if account_ids else None,
                "ContactId": contact_ids[rng.randrange(len(contact_ids))] if contact_ids else None,
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
    for n in range(gen.opportunities):
        s.insert(
            "Opportunity",
            {
                "Name": f"Opportunity {n:05d}",
                "AccountId": account_ids[rng.randrange(len(account_ids))] if account_ids else None,
                "Amount": float(rng.randrange(5, 900) * 1000),
                "StageName": rng.choice(_STAGES),
                "CloseDate": (now + timedelta(days=rng.randrange(-200, 200))).date(),
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
    for _ in range(gen.login_history):
        s.insert(
            "LoginHistory",
            {
                "UserId": holders[rng.randrange(len(holders))],
                "LoginTime": pool[rng.randrange(len(pool))],
                "LoginType": "Application",
                "SourceIp": f"198.51.100.{rng.randrange(1, 255)}",
                "Status": "Success",
                "Application": "Browser",
                "Browser": "Chrome 138",
                "Platform": "Mac OSX",
                "CountryIso": "US",
                "LoginUrl": f"{s.org.my_domain}.my.salesforce.com",
                "TlsProtocol": "TLS 1.3",
            },
        )


def scaled(loaded: LoadedSeed, *, users: int, tokens: int, assignments: int | None = None) -> LoadedSeed:
    """Benchmarks only: `loaded` with its `[generate]` counts replaced, past the bound a seed file may ask for
    (MAX_GENERATED keeps a typo in a seed file from exhausting memory); e.g. an org of 200k users holding
    1M OAuth tokens. The counts are set in code, never read from a file."""
    gen = loaded.seed.generate.model_copy(
        update={
            "users": users,
            "tokens": tokens,
            "assignments": loaded.seed.generate.assignments if assignments is None else assignments,
        }
    )
    return LoadedSeed(loaded.seed.model_copy(update={"generate": gen}), loaded.path, loaded.text)
