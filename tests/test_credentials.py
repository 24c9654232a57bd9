"""Credentials by alias: keyring storage, the no-backend refusal, the encrypted-file opt-in, and redaction of
every output path (screen, logs, journal, crash reports)."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from pathlib import Path

import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.base import keystore, redaction
from app.base.config import config_path, load_config
from app.composition.context import Context
from app.journal.failures import SecretRefused
from app.salesforce import credentials
from tests.conftest import CLI, MemoryKeyring

PASSWORD = "Pw-XYZZY-7f3a9c1e-never-print"
TOKEN = "TokQ8v2LmN4pR6sT0uW3yZ5b"


@pytest.fixture(autouse=True)
def _no_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keystore.ENV_VAR, raising=False)
    monkeypatch.setattr(keystore.EncryptedFileKeyring, "SCRYPT_N", 2**12)  # the format records n; keep tests quick


def _ctx(home: Path, backend: object, stdin: str = "") -> Context:
    return Context(
        home=home, actor="tester", keyring=backend, stdin=io.StringIO(stdin), stdout=io.StringIO(), stderr=io.StringIO()
    )


def _files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(path)
    return hits


def _rsa_pem(password: bytes | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc).decode()


# -- set / list / delete ------------------------------------------------------------------------------------


def test_set_password_login_keeps_secrets_in_the_keyring_only(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    r = cli(
        "creds",
        "set",
        "prod",
        "--kind",
        "password",
        "--username",
        "int@acme.example",
        "--domain",
        "acme.my",
        stdin=f"{PASSWORD}\n{TOKEN}\n",
    )
    assert r.code == 0, r.err
    assert "stored password credentials for 'prod'" in r.out
    blob = json.loads(mem_keyring.store[(credentials.SERVICE, "prod")])
    assert blob == {"version": 1, "kind": "password", "password": PASSWORD, "security_token": TOKEN}
    text = config_path(cli.home).read_text()
    assert PASSWORD not in text and TOKEN not in text
    org = load_config(cli.home).orgs["prod"]
    assert (org.kind, org.username, org.domain, org.store) == ("password", "int@acme.example", "acme.my", "keyring")
    assert stat.S_IMODE(config_path(cli.home).stat().st_mode) == 0o600
    assert PASSWORD not in r.out + r.err and TOKEN not in r.out + r.err


def test_list_shows_aliases_and_kinds_only(cli: CLI) -> None:
    assert cli("creds", "list").out.startswith("no stored credentials")
    cli("creds", "set", "prod", "--kind", "password", "--username", "u@x.example", stdin=f"{PASSWORD}\n\n")
    cli(
        "creds",
        "set",
        "sess",
        "--kind",
        "session",
        "--instance-url",
        "https://acme.my.salesforce.com",
        stdin="00D000000000001!AQ4AQFakeSessionValueForTests0123456789\n",
    )
    r = cli("creds", "list", "--json")
    assert r.code == 0
    assert r.json() == [
        {"alias": "prod", "kind": "password", "store": "keyring"},
        {"alias": "sess", "kind": "session", "store": "keyring"},
    ]
    plain = cli("creds", "list").out
    assert "prod" in plain and "session" in plain and "u@x.example" not in plain


def test_delete_removes_keyring_entry_and_settings(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    cli("creds", "set", "prod", "--kind", "password", "--username", "u@x.example", stdin=f"{PASSWORD}\n{TOKEN}\n")
    r = cli("creds", "delete", "prod")
    assert r.code == 0 and "deleted" in r.out
    assert (credentials.SERVICE, "prod") not in mem_keyring.store
    assert "prod" not in load_config(cli.home).orgs
    again = cli("creds", "delete", "prod")
    assert again.code == 2 and "no credentials named 'prod'" in again.err


def test_set_again_replaces_the_secret(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    cli("creds", "set", "prod", "--kind", "password", "--username", "u@x.example", stdin="first-secret\n\n")
    r = cli("creds", "set", "prod", "--username", "u@x.example", stdin="second-secret\n\n")  # kind kept
    assert r.code == 0, r.err
    assert json.loads(mem_keyring.store[(credentials.SERVICE, "prod")])["password"] == "second-secret"


def test_jwt_key_file_content_goes_to_the_keyring(cli: CLI, mem_keyring: MemoryKeyring, tmp_path: Path) -> None:
    pem = _rsa_pem()
    key_file = tmp_path / "server.key"
    key_file.write_text(pem)
    r = cli(
        "creds",
        "set",
        "jwt1",
        "--kind",
        "jwt",
        "--username",
        "int@acme.example",
        "--consumer-key",
        "3MVG9fakeConsumerKey",
        "--key-file",
        str(key_file),
    )
    assert r.code == 0, r.err
    assert f"you can delete {key_file}" in r.out
    assert json.loads(mem_keyring.store[(credentials.SERVICE, "jwt1")])["private_key"].strip() == pem.strip()
    org = load_config(cli.home).orgs["jwt1"]
    assert org.consumer_key == "3MVG9fakeConsumerKey"
    assert "PRIVATE KEY" not in config_path(cli.home).read_text()
    key_file.unlink()  # the file can go: the keyring has it
    stored = credentials.read_credentials(_ctx(cli.home, mem_keyring), "jwt1")
    assert stored.secrets["private_key"].strip() == pem.strip()


def test_jwt_key_can_be_piped(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    pem = _rsa_pem()
    r = cli("creds", "set", "jwt2", "--kind", "jwt", "--username", "u@x.example", "--consumer-key", "ck", stdin=pem)
    assert r.code == 0, r.err
    assert "BEGIN PRIVATE KEY" in mem_keyring.store[(credentials.SERVICE, "jwt2")]


def test_encrypted_private_key_is_refused(cli: CLI, tmp_path: Path) -> None:
    key_file = tmp_path / "enc.key"
    key_file.write_text(_rsa_pem(b"pass-phrase"))
    r = cli(
        "creds",
        "set",
        "jwt3",
        "--kind",
        "jwt",
        "--username",
        "u@x.example",
        "--consumer-key",
        "ck",
        "--key-file",
        str(key_file),
    )
    assert r.code == 2 and "encrypted" in r.err


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["creds", "set", "sim", "--kind", "session"], "", "reserved"),
        (["creds", "set", "bad alias", "--kind", "session"], "", "must be 1-64"),
        (["creds", "set", "a", "--username", "u"], "", "--kind is required"),
        (["creds", "set", "a", "--kind", "password"], "x\n", "--username is required"),
        (["creds", "set", "a", "--kind", "session"], "x\n", "--instance-url is required"),
        (["creds", "set", "a", "--kind", "session", "--instance-url", "http://acme.example"], "x\n", "https://"),
        (
            ["creds", "set", "a", "--kind", "client_credentials", "--consumer-key", "ck", "--domain", "login"],
            "x\n",
            "My Domain",
        ),
        (["creds", "set", "a", "--kind", "password", "--username", "u"], "only-the-password\n", "ended before"),
        (["creds", "set", "a", "--kind", "password", "--username", "u"], "\n\n", "password is empty"),
        (
            ["creds", "set", "a", "--kind", "session", "--instance-url", "https://x.example", "--ca", "/no/such.pem"],
            "x\n",
            "no such file",
        ),
    ],
)
def test_set_rejects_bad_input_and_stores_nothing(
    cli: CLI, mem_keyring: MemoryKeyring, argv: list[str], stdin: str, message: str
) -> None:
    r = cli(*argv, stdin=stdin)
    assert r.code == 2, (r.out, r.err)
    assert message in r.err
    assert not mem_keyring.store
    assert not config_path(cli.home).exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_secrets_are_prompted_without_echo(
    home: Path,
    clock,
    mem_keyring: MemoryKeyring,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app import cli as cli_module

    hidden: list[str] = []
    answers = iter([PASSWORD, TOKEN])

    def fake_getpass(prompt: str = "") -> str:
        hidden.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    ns = cli_module.build_parser().parse_args(["--home", str(home), "creds", "set", "prod"])
    out, err = io.StringIO(), io.StringIO()
    ctx = Context.from_args(
        ns, clock=clock, keyring=mem_keyring, stdout=out, stderr=err, stdin=_Terminal("password\nint@acme.example\n")
    )
    assert cli_module.dispatch(ctx, ns) == 0, err.getvalue()
    assert hidden == ["Password: ", "Security token (empty if the org trusts this IP): "]
    assert "Login kind" in err.getvalue() and "Username" in err.getvalue()  # identifiers are asked in the open
    assert PASSWORD not in out.getvalue() + err.getvalue()
    assert json.loads(mem_keyring.store[(credentials.SERVICE, "prod")])["password"] == PASSWORD
    assert load_config(home).orgs["prod"].username == "int@acme.example"


def test_domain_is_normalised() -> None:
    assert credentials.normalize_domain("https://Acme.my.salesforce.com/") == "acme.my"
    assert credentials.normalize_domain("test") == "test"


def test_no_secret_is_accepted_on_the_command_line() -> None:
    from app import cli as cli_module

    parser = cli_module.build_parser()
    creds_parser = parser._subparsers._group_actions[0].choices["creds"]  # type: ignore[union-attr]
    for name, sub in creds_parser._subparsers._group_actions[0].choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            for opt in action.option_strings:
                assert not any(w in opt for w in ("password", "token", "secret", "session", "passphrase")), (name, opt)


# -- loading, redaction ------------------------------------------------------------------------------------


def test_reading_registers_every_secret_for_redaction(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    secret = "Lk93-distinct-read-secret"
    mem_keyring.set_password(
        credentials.SERVICE,
        "prod",
        json.dumps({"version": 1, "kind": "password", "password": secret, "security_token": "TKN-8842-abcdef"}),
    )
    (cli.home / "config.toml").write_text('[orgs.prod]\nkind = "password"\nusername = "u@x.example"\n')
    redaction.forget_secrets()
    assert redaction.redact(secret) == secret
    stored = credentials.read_credentials(_ctx(cli.home, mem_keyring), "prod")
    assert stored.secrets["password"] == secret
    assert redaction.redact(f"login failed for pw={secret}") == "login failed for pw=[REDACTED]"
    assert redaction.redact("TKN-8842-abcdef") == redaction.MASK


def test_encoded_forms_of_a_secret_are_masked() -> None:
    import html
    import urllib.parse

    secret = 'p&ss w\u00f6rd+"1<'
    redaction.register_secret(secret)
    for form in (
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
    ):
        assert redaction.redact(f"body={form};") == "body=[REDACTED];", form


def test_a_read_secret_cannot_reach_the_journal(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    cli("creds", "set", "prod", "--kind", "password", "--username", "u@x.example", stdin=f"{PASSWORD}\n{TOKEN}\n")
    credentials.read_credentials(_ctx(cli.home, mem_keyring), "prod")
    cli.new("Leak drill")
    r = cli("note", f"pasted by mistake: {PASSWORD}")
    assert r.code != 0
    assert PASSWORD not in r.err and "credential" in r.err
    with cli_incident(cli) as incident, pytest.raises(SecretRefused):
        incident.journal.append("note", {"text": f"x {TOKEN}"}, "tester")


def cli_incident(cli: CLI):  # type: ignore[no-untyped-def]
    from app.composition.workspace import Workspace

    return Workspace(cli.home, cli.clock, cli.keyring).open(None)


def test_missing_alias_and_missing_secret_are_clear(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    ctx = _ctx(cli.home, mem_keyring)
    with pytest.raises(credentials.NotFoundError, match="creds set nope"):
        credentials.read_credentials(ctx, "nope")
    (cli.home / "config.toml").write_text('[orgs.prod]\nkind = "session"\ninstance_url = "https://x.example"\n')
    with pytest.raises(credentials.NotFoundError, match="holds no secret"):
        credentials.read_credentials(ctx, "prod")


# -- no usable backend -------------------------------------------------------------------------------------


class EmptyChainer(keyring.backends.chainer.ChainerBackend):
    backends = ()  # what a headless machine without keyrings.alt offers


@pytest.mark.parametrize(
    "backend",
    [keyring.backends.fail.Keyring(), keyring.backends.null.Keyring(), EmptyChainer()],
    ids=["fail", "null", "empty-chainer"],
)
def test_no_usable_backend_is_a_clear_error(home: Path, clock, backend: object) -> None:  # type: ignore[no-untyped-def]
    run = CLI(home, clock, backend)
    r = run("creds", "set", "prod", "--kind", "password", "--username", "u@x.example", stdin=f"{PASSWORD}\n\n")
    assert r.code == 1
    assert "no usable keyring" in r.err
    assert "Secret Service" in r.err and "Keychain" in r.err and "Credential Locker" in r.err
    assert "--keyring-file" in r.err and "WARROOM_KEYRING=encrypted-file" in r.err
    assert "never stores credentials in plaintext" in r.err
    assert not config_path(home).exists()
    assert not _files_containing(home, PASSWORD)


def test_plaintext_backend_is_refused(home: Path, clock) -> None:  # type: ignore[no-untyped-def]
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(home / "plain.cfg")
    r = CLI(home, clock, backend)(
        "creds", "set", "p", "--kind", "session", "--instance-url", "https://x.example", stdin=f"{PASSWORD}\n"
    )
    assert r.code == 1 and "stores secrets in plaintext" in r.err
    assert not (home / "plain.cfg").exists()
    assert not keystore.keyring_usable(backend)


def test_usable_backends() -> None:
    assert keystore.keyring_usable(MemoryKeyring())
    assert not keystore.keyring_usable(None)
    assert keystore.keyring_usable(keystore.EncryptedFileKeyring(Path("/nonexistent"), lambda c, w: "x"))


def test_backend_failure_on_use_is_explained(home: Path, clock) -> None:  # type: ignore[no-untyped-def]
    from keyring.errors import KeyringLocked

    class Locked(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise KeyringLocked("collection is locked")

    r = CLI(home, clock, Locked())(
        "creds", "set", "p", "--kind", "session", "--instance-url", "https://x.example", stdin=f"{PASSWORD}\n"
    )
    assert r.code == 1
    assert "KeyringLocked" in r.err and "unlock or start the platform keyring" in r.err
    assert not config_path(home).exists()


def test_unknown_keyring_setting_is_a_usage_error(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keystore.ENV_VAR, "plaintext")
    r = cli("creds", "set", "p", "--kind", "session", "--instance-url", "https://x.example", stdin="x\n")
    assert r.code == 2 and "not understood" in r.err


# -- the encrypted-file opt-in -----------------------------------------------------------------------------

PASSPHRASE = "correct horse battery staple"


def test_keyring_file_flag_stores_encrypted(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    r = cli(
        "creds",
        "set",
        "prod",
        "--kind",
        "password",
        "--username",
        "u@x.example",
        "--keyring-file",
        stdin=f"{PASSPHRASE}\n{PASSWORD}\n{TOKEN}\n",
    )
    assert r.code == 0, r.err
    path = keystore.file_path(cli.home)
    assert "encrypted file" in r.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not _files_containing(cli.home, PASSWORD) and not _files_containing(cli.home, TOKEN)
    assert not _files_containing(cli.home, PASSPHRASE)
    assert not mem_keyring.store  # the platform keyring was not touched
    assert load_config(cli.home).orgs["prod"].store == "encrypted-file"
    # Later reads follow the alias's recorded store, with no flag or environment needed.
    stored = credentials.read_credentials(_ctx(cli.home, mem_keyring, stdin=f"{PASSPHRASE}\n"), "prod")
    assert stored.secrets == {"password": PASSWORD, "security_token": TOKEN}
    with pytest.raises(credentials.WarroomError, match="wrong passphrase"):
        credentials.read_credentials(_ctx(cli.home, mem_keyring, stdin="not the passphrase\n"), "prod")
    assert cli("creds", "delete", "prod", stdin=f"{PASSPHRASE}\n").code == 0
    assert "prod" not in path.read_text()


def test_environment_opt_in_and_short_passphrase(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keystore.ENV_VAR, "encrypted-file")
    short = cli("creds", "set", "s", "--kind", "session", "--instance-url", "https://x.example", stdin="short\nx\n")
    assert short.code == 2 and "at least 8" in short.err
    ok = cli(
        "creds",
        "set",
        "s",
        "--kind",
        "session",
        "--instance-url",
        "https://x.example",
        stdin=f"{PASSPHRASE}\n{PASSWORD}\n",
    )
    assert ok.code == 0, ok.err
    assert keystore.file_path(cli.home).exists()


def test_encrypted_file_binds_values_to_their_names(tmp_path: Path) -> None:
    kr = keystore.EncryptedFileKeyring(tmp_path / "k.enc", lambda creating, where: PASSPHRASE)
    kr.set_password("svc", "a", "value-a")
    kr.set_password("svc", "b", "value-b")
    doc = json.loads((tmp_path / "k.enc").read_text())
    a = next(e for e in doc["entries"] if e["username"] == "a")
    b = next(e for e in doc["entries"] if e["username"] == "b")
    a["ct"], a["nonce"] = b["ct"], b["nonce"]  # move b's sealed value under a's name
    (tmp_path / "k.enc").write_text(json.dumps(doc))
    fresh = keystore.EncryptedFileKeyring(tmp_path / "k.enc", lambda creating, where: PASSPHRASE)
    with pytest.raises(keystore.WarroomError, match="damaged"):
        fresh.get_password("svc", "a")
    assert fresh.get_password("svc", "b") == "value-b"


# -- logs and crash reports --------------------------------------------------------------------------------


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    redaction.install()
    redaction.register_secret(PASSWORD)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        log = logging.getLogger("warroom.test")
        log.warning("login with %s failed", PASSWORD)
        try:
            raise RuntimeError(f"server said {PASSWORD} and Bearer 00D000000000001!AQ4AQabcdefghijklmnopqrstuv")
        except RuntimeError:
            log.exception("oops")
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue() + caplog.text
    assert "login with [REDACTED] failed" in out
    assert PASSWORD not in out and "AQ4AQabcdef" not in out


def test_crash_reports_are_redacted(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    redaction.register_secret(PASSWORD)

    def boom(ctx: object) -> list[object]:
        raise RuntimeError(f"unexpected reply containing {PASSWORD}\nand a second line")

    monkeypatch.setattr(credentials, "list_credentials", boom)
    r = cli("creds", "list")
    assert r.code == 70
    assert PASSWORD not in r.err and "[REDACTED]" in r.err
    assert len(r.err.strip().splitlines()) == 1
    reports = list((cli.home / "crash").iterdir())
    assert len(reports) == 1 and str(reports[0]) in r.err
    text = reports[0].read_text()
    assert "Traceback" in text and "RuntimeError" in text and PASSWORD not in text
    assert stat.S_IMODE(reports[0].stat().st_mode) == 0o600


def test_context_patterns_mask_values_not_names() -> None:
    line = 'GET /revoke?token=abcdEFGH1234 {"client_secret": "s3cr3t-value"} <sessionId>00Dabc</sessionId>'
    out = redaction.redact(line)
    assert "abcdEFGH1234" not in out and "s3cr3t-value" not in out and "00Dabc" not in out
    assert "token=[REDACTED]" in out and '"client_secret": "[REDACTED]"' in out


def test_environment_is_clean() -> None:
    assert os.environ.get("PYTHON_KEYRING_BACKEND") == "keyring.backends.null.Keyring"


# -- against the simulated org -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():  # type: ignore[no-untyped-def]
    try:
        from app.simorg import SeedError, SimOrg
    except ImportError as exc:
        pytest.skip(f"the simulated org is not available: {exc}")
    try:
        org = SimOrg.start()
    except SeedError as exc:
        pytest.skip(f"the simulated org has no seed to start from: {exc}")
    with org:
        yield org


def _set_sim(cli: CLI, sim, alias: str, password: str, *extra: str) -> None:  # type: ignore[no-untyped-def]
    demo = sim.demo_login
    r = cli(
        "creds",
        "set",
        alias,
        "--kind",
        "password",
        "--username",
        demo.username,
        "--instance-url",
        sim.url,
        *extra,
        stdin=f"{password}\n{demo.security_token}\n",
    )
    assert r.code == 0, r.err


def test_creds_test_logs_in_to_the_simulated_org(cli: CLI, sim) -> None:  # type: ignore[no-untyped-def]
    _set_sim(cli, sim, "mysim", sim.demo_login.password, "--ca", str(sim.ca_path))
    r = cli("creds", "test", "mysim")
    assert r.code == 0, r.err
    assert r.out.startswith(f"ok: mysim logs in as {sim.demo_login.username}")
    assert sim.url in r.out
    data = cli("creds", "test", "mysim", "--json").json()
    assert data["ok"] is True and data["org_id"].startswith("00D") and data["user_id"].startswith("005")
    assert sim.demo_login.password not in r.out + r.err


def test_creds_test_reports_why_a_login_fails(cli: CLI, sim) -> None:  # type: ignore[no-untyped-def]
    _set_sim(cli, sim, "wrongpw", "Not-The-Password-123", "--ca", str(sim.ca_path))
    r = cli("creds", "test", "wrongpw")
    assert r.code == 1
    assert "login with 'wrongpw' failed" in r.err and "INVALID_LOGIN" in r.err
    assert "Not-The-Password-123" not in r.err
    _set_sim(cli, sim, "noca", sim.demo_login.password)  # the simulator's certificate is not trusted
    r = cli("creds", "test", "noca")
    assert r.code == 1 and "certificate not trusted" in r.err
    data = cli("creds", "test", "noca", "--json").json()
    assert data["ok"] is False and "TLS" in data["reason"]


def test_creds_test_with_the_login_host_as_domain(cli: CLI, sim) -> None:  # type: ignore[no-untyped-def]
    demo = sim.demo_login
    r = cli(
        "creds",
        "set",
        "bydomain",
        "--kind",
        "password",
        "--username",
        demo.username,
        "--domain",
        sim.url.removeprefix("https://"),
        "--ca",
        str(sim.ca_path),
        stdin=f"{demo.password}\n{demo.security_token}\n",
    )
    assert r.code == 0, r.err
    assert cli("creds", "test", "bydomain").code == 0


def test_an_alias_keeps_its_store_and_moves_only_on_request(cli: CLI, mem_keyring: MemoryKeyring) -> None:
    cli("creds", "set", "prod", "--kind", "session", "--instance-url", "https://x.example", stdin=f"{PASSWORD}\n")
    assert (credentials.SERVICE, "prod") in mem_keyring.store
    r = cli(
        "creds",
        "set",
        "prod",
        "--keyring-file",
        "--instance-url",
        "https://x.example",
        stdin=f"{PASSPHRASE}\n{PASSWORD}\n",
    )
    assert r.code == 0, r.err
    assert (credentials.SERVICE, "prod") not in mem_keyring.store  # moved, not copied
    assert load_config(cli.home).orgs["prod"].store == "encrypted-file"
    r = cli("creds", "set", "prod", "--instance-url", "https://x.example", stdin=f"{PASSPHRASE}\nnew-{PASSWORD}\n")
    assert r.code == 0, r.err
    assert not mem_keyring.store and load_config(cli.home).orgs["prod"].store == "encrypted-file"


def _responder_app(sim):  # type: ignore[no-untyped-def]
    return next(a for a in sim.store.apps.values() if a.consumer_secret and a.run_as)


def test_client_credentials_against_the_simulated_org(cli: CLI, sim) -> None:  # type: ignore[no-untyped-def]
    app = _responder_app(sim)
    r = cli(
        "creds",
        "set",
        "cc",
        "--kind",
        "client_credentials",
        "--consumer-key",
        app.consumer_key,
        "--instance-url",
        sim.url,
        "--ca",
        str(sim.ca_path),
        stdin=f"{app.consumer_secret}\n",
    )
    assert r.code == 0, r.err
    assert app.consumer_secret not in config_path(cli.home).read_text()
    r = cli("creds", "test", "cc")
    assert r.code == 0, r.err
    assert "ok: cc logs in as" in r.out


def test_jwt_against_the_simulated_org(
    cli: CLI,
    sim,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _responder_app(sim)
    pem = _rsa_pem()
    public = (
        serialization.load_pem_private_key(pem.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    monkeypatch.setattr(app, "public_key_pem", public)
    key_file = tmp_path / "jwt.key"
    key_file.write_text(pem)
    r = cli(
        "creds",
        "set",
        "jwt",
        "--kind",
        "jwt",
        "--username",
        sim.demo_login.username,
        "--consumer-key",
        app.consumer_key,
        "--key-file",
        str(key_file),
        "--instance-url",
        sim.url,
        "--ca",
        str(sim.ca_path),
    )
    assert r.code == 0, r.err
    key_file.unlink()
    r = cli("creds", "test", "jwt")
    assert r.code == 0, r.err
    assert f"logs in as {sim.demo_login.username}" in r.out


def test_encrypted_file_alias_logs_in(cli: CLI, sim, mem_keyring: MemoryKeyring) -> None:  # type: ignore[no-untyped-def]
    demo = sim.demo_login
    r = cli(
        "creds",
        "set",
        "filed",
        "--keyring-file",
        "--kind",
        "password",
        "--username",
        demo.username,
        "--instance-url",
        sim.url,
        "--ca",
        str(sim.ca_path),
        stdin=f"{PASSPHRASE}\n{demo.password}\n{demo.security_token}\n",
    )
    assert r.code == 0, r.err
    assert not mem_keyring.store
    assert cli("creds", "test", "filed", stdin=f"{PASSPHRASE}\n").code == 0
    wrong = cli("creds", "test", "filed", stdin="not-the-passphrase-9\n")
    assert wrong.code == 1 and "wrong passphrase" in wrong.err


def test_other_config_tables_survive_a_creds_set(cli: CLI) -> None:
    import tomllib

    config_path(cli.home).write_text(
        '[notice]\norganisation = "Acme"\nsince = 2025-08-08\n\n[console.keymap]\nquit = "ctrl+q"\n'
    )
    assert (
        cli("creds", "set", "s", "--kind", "session", "--instance-url", "https://x.example", stdin=f"{PASSWORD}\n").code
        == 0
    )
    data = tomllib.loads(config_path(cli.home).read_text())
    assert data["notice"]["organisation"] == "Acme"
    assert str(data["notice"]["since"]) == "2025-08-08" and not isinstance(data["notice"]["since"], str)
    assert data["console"]["keymap"] == {"quit": "ctrl+q"}
    assert data["orgs"]["s"]["kind"] == "session"
