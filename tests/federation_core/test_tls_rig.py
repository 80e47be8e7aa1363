"""docs/peering.md, followed: three divisions serving https with certificates from one CA
(`trustme`), peered through `[federation.resolve]` on loopback ports, `allow_http = false`.

The configuration is the guide's own TOML block with test values swapped in (addresses,
ports, files, names) and not one key added or dropped, but `[delivery]` timings; the servers
start with the guide's own `serve` command lines; and every `watercooler` command the guide
shows must parse. So the guide cannot drift from the code silently.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import shlex
import shutil
import sqlite3
import ssl
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from federation.aiohttp_transport import peer_trust
from tests.live import LiveInstance, LiveTls
from watercooler.cli import build_parser, main
from watercooler.config import ConfigError, load_config, parse_config

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "peering.md"
DIVISIONS = {"sales.test": ("Sales", "alice"), "eng.test": ("Engineering", "bob"),
             "hr.test": ("HR", "carol")}  # fmt: skip
CLI_TLS = "hr.test"
"""The division given its certificate on the command line (`serve --ssl-*`), not the config."""
FAST_RETRIES = {"retry_base": 0.3, "circuit_cooldown": 1, "timeout": 5}


# ----- the guide ----------------------------------------------------------------------------


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def code_blocks(language: str = r"\w*") -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", guide_text(), flags=re.M | re.S)


def guide_config() -> dict[str, Any]:
    """The guide's configuration of a division: its one TOML block with an `[instance]`."""
    found = [data for block in code_blocks("toml") if "instance" in (data := tomllib.loads(block))]
    assert len(found) == 1, "the guide shows one full division config"
    return found[0]


def guide_commands() -> list[list[str]]:
    """Every `watercooler ...` command of the guide: in code blocks (also after a path, as
    in a systemd unit) and in inline code."""
    lines = [line for block in code_blocks() for line in block.splitlines()]
    lines += re.findall(r"`(watercooler [^`]+)`", guide_text())
    commands = []
    for line in lines:
        match = re.search(r"(?:^|[\s=/])watercooler (.+)$", line.split(" #")[0])
        if match:
            commands.append(shlex.split(match.group(1)))
    return commands


def guide_command(*words: str) -> list[str]:
    """The guide's one command line whose arguments contain `words` in order."""
    found = [
        argv
        for argv in guide_commands()
        if any(argv[i : i + len(words)] == list(words) for i in range(len(argv)))
    ]
    assert len(found) == 1, f"the guide shows one `watercooler ... {' '.join(words)}`"
    return found[0]


def shape(data: dict[str, Any], prefix: str = "") -> set[str]:
    """The dotted keys of a config (the resolve map's own keys are domains, not keys)."""
    keys = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key != "resolve":
            keys |= shape(value, f"{path}.")
        elif isinstance(value, list):
            keys |= {f"{path}[].{name}" for item in value for name in item}
        else:
            keys.add(path)
    return keys


def dump_toml(data: dict[str, Any]) -> str:
    """TOML for a config: tables of strings, numbers and booleans, and arrays of tables."""

    def value(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else json.dumps(v)

    lines: list[str] = []

    def table(name: str, body: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        lines.extend(
            f"{json.dumps(k)} = {value(v)}" for k, v in body.items() if not isinstance(v, dict)
        )
        for key, nested in body.items():
            if isinstance(nested, dict):
                table(f"{name}.{key}", nested)

    for name, body in data.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{name}]]")
                lines.extend(f"{json.dumps(k)} = {value(v)}" for k, v in item.items())
        else:
            table(name, body)
    text = "\n".join(lines) + "\n"
    assert tomllib.loads(text) == data
    return text


GUIDE_FILES = re.compile(
    r"/etc/watercooler/(tls/[\w.-]+\.corp\.example\.(pem|key)|tls/org-ca\.pem|watercooler\.toml)"
)


def localise(text: str, live: LiveInstance) -> str:
    """A file of the guide -> this division's file in the test: its certificate, its key, the
    CA, its config (the guide's example files stand for each division's own)."""
    assert live.tls is not None
    files = {
        "pem": str(live.tls.certificate),
        "key": str(live.tls.key),
        "tls/org-ca.pem": str(live.tls.ca_file),
        "watercooler.toml": str(live.config_path),
    }
    return GUIDE_FILES.sub(lambda m: files.get(m.group(1)) or files[m.group(2)], text)


def division_config(live: LiveInstance, everyone: dict[str, LiveInstance]) -> dict[str, Any]:
    """The guide's config for `live`: its domain, name, loopback port and files, the other
    divisions as peers at their loopback addresses. The same keys as the guide's, but the
    certificate's of the division that gets it on the command line, and `[delivery]`."""
    guide = guide_config()
    assert guide["federation"]["allow_http"] is False  # the guide, and so this rig: https only
    assert guide["federation"]["mode"] == "allowlist"
    config = copy.deepcopy(guide)
    config["instance"].update(
        domain=live.domain, base_url=live.base_url, name=DIVISIONS[live.domain][0]
    )
    server = config["server"]
    server.update(host="127.0.0.1", port=live.port)
    expected = shape(guide)
    if live.domain == CLI_TLS:
        del server["tls_certificate"], server["tls_key"]
        expected -= {"server.tls_certificate", "server.tls_key"}
    else:
        server["tls_certificate"] = localise(server["tls_certificate"], live)
        server["tls_key"] = localise(server["tls_key"], live)
    config["database"]["path"] = "db.sqlite3"  # in the instance's folder, where tests read it
    config["media"]["path"] = "media"
    federation = config["federation"]
    federation["ca_file"] = localise(federation["ca_file"], live)
    others = [domain for domain in everyone if domain != live.domain]
    federation["resolve"] = {domain: everyone[domain].address for domain in others}
    config["peers"] = [{"domain": domain} for domain in others]
    assert shape(config) == expected
    return {**config, "delivery": FAST_RETRIES}


def guide_argv(live: LiveInstance, *words: str) -> list[str]:
    """The guide's command line with `words`, for this division: its files, its user, and
    without the leading `--config FILE` (LiveInstance adds its own, the same file)."""
    user = DIVISIONS[live.domain][1]
    argv = [localise(arg, live).replace("alice", user) for arg in guide_command(*words)]
    assert argv[:2] == ["--config", str(live.config_path)]
    return argv[2:]


def serve_args(live: LiveInstance) -> list[str]:
    """The guide's `serve` command line for this division, after `serve`."""
    if live.domain == CLI_TLS:
        argv = guide_argv(live, "serve", "--ssl-certfile")
    else:
        argv = guide_argv(live, "serve", "--ensure-admin")
    return argv[argv.index("serve") + 1 :]


# ----- the rig ------------------------------------------------------------------------------


@dataclass
class Division:
    live: LiveInstance
    user: str
    token: str
    _http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """The client API as `user`, by the division's domain, verifying its certificate."""
        if self._http is None:
            headers = {"Authorization": f"Bearer {self.token}"}
            self._http = self.live.client(headers=headers, timeout=10)
        return self._http

    def disconnect(self) -> None:
        """Close the client's connections (a server waits for idle TLS ones as it stops)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    @property
    def handle(self) -> str:
        return f"{self.user}@{self.live.domain}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, **data: Any) -> Any:
        response = self.http.post(path, data=data)
        assert response.status_code == 200, response.text
        return response.json()

    def follow(self, other: Division) -> None:
        """Follow `other`'s user, found through WebFinger; until the Accept is back."""
        account = self.get("/api/v1/accounts/lookup", acct=other.handle)
        self.post(f"/api/v1/accounts/{account['id']}/follow")
        wait_for(
            lambda: self.get("/api/v1/accounts/relationships", id=account["id"])[0]["following"],
            f"{other.handle} to accept {self.handle}'s follow",
        )

    def home(self) -> list[str]:
        return [status["uri"] for status in self.get("/api/v1/timelines/home")]

    def restart(self, tls: LiveTls) -> None:
        """Serve again, with the certificate and key files `tls` names in place of its own."""
        assert self.live.tls is not None
        self.disconnect()
        self.live.stop()
        for path, file in (
            (self.live.tls.certificate, tls.certificate),
            (self.live.tls.key, tls.key),
        ):
            path.write_bytes(file.read_bytes())
        self.live.tls = replace(self.live.tls, issuer=tls.issuer or tls.ca_file)
        self.live.start(*serve_args(self.live))


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def org(tmp_path: Path) -> Iterator[dict[str, Division]]:
    """The guide's three divisions serving https, configured and started with the guide's
    config and commands; each with its user and an API token."""
    ca = trustme.CA(organization_name="Corp internal CA")
    everyone = {
        domain: LiveInstance(
            domain, tmp_path / domain, tls=LiveTls.issue(ca, tmp_path / domain / "tls", domain)
        )
        for domain in DIVISIONS
    }
    for live in everyone.values():
        live.config_path.write_text(dump_toml(division_config(live, everyone)))
    divisions: dict[str, Division] = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda live: live.cli(*guide_argv(live, "user", "add")), everyone.values()))
        try:
            for live in everyone.values():
                live.launch(*serve_args(live))
            names = [DIVISIONS[domain][1] for domain in everyone]
            tokens = pool.map(LiveInstance.token, everyone.values(), names)
            for (domain, live), name, token in zip(everyone.items(), names, tokens, strict=True):
                live.wait_ready()
                divisions[domain] = Division(live, name, token)
            yield divisions
        finally:
            for division in divisions.values():
                division.disconnect()
            for live in everyone.values():
                live.stop()


def deliveries_to(live: LiveInstance, host: str) -> list[tuple[str, str | None]]:
    with contextlib.closing(sqlite3.connect(live.folder / "db.sqlite3")) as conn:
        return conn.execute(
            "SELECT state, last_error FROM deliveries WHERE host = ?", (host,)
        ).fetchall()


def stored(live: LiveInstance, uri: str) -> bool:
    with contextlib.closing(sqlite3.connect(live.folder / "db.sqlite3")) as conn:
        return conn.execute("SELECT 1 FROM statuses WHERE uri = ?", (uri,)).fetchone() is not None


# ----- the guide, followed ------------------------------------------------------------------


def test_the_guides_divisions_federate_over_https_and_only_with_trusted_certificates(
    org: dict[str, Division], tmp_path: Path
) -> None:
    sales, eng, hr = org["sales.test"], org["eng.test"], org["hr.test"]
    for division in org.values():  # each answers by its name with a certificate the CA issued
        assert division.get("/api/v1/instance")["uri"] == division.live.domain

    # A follow and a post across divisions: WebFinger, actor fetches, Follow, Accept and
    # Create, each signed, each over https to the address the resolve map gives.
    eng.follow(sales)
    hr.follow(sales)  # hr.test has its certificate from the command line
    first = sales.post("/api/v1/statuses", status="Quarterly numbers are in")["uri"]
    assert first.startswith("https://sales.test/")
    wait_for(lambda: first in eng.home(), "the post at eng.test")
    wait_for(lambda: first in hr.home(), "the post at hr.test")
    unsigned = eng.http.post(
        "/inbox", content=b"{}", headers={"Content-Type": "application/activity+json"}
    )
    assert unsigned.status_code == 401  # over https too, only signed deliveries are taken

    # hr.test comes back with a certificate for its name from a CA the organisation does not
    # trust (a mistake, or someone answering in its place): it gets nothing...
    original = hr.live.tls
    assert original is not None
    kept = replace(original, certificate=tmp_path / "hr.pem", key=tmp_path / "hr.key")
    shutil.copy(original.certificate, kept.certificate)
    shutil.copy(original.key, kept.key)
    hr.restart(LiveTls.issue(trustme.CA(), tmp_path / "rogue", "hr.test"))
    second = sales.post("/api/v1/statuses", status="Reorg announced")["uri"]
    wait_for(lambda: second in eng.home(), "the post at eng.test")
    wait_for(
        lambda: any("CERTIFICATE_VERIFY_FAILED" in (error or "")
                    for _, error in deliveries_to(sales.live, "hr.test")),
        "a failed delivery to hr.test",
    )  # fmt: skip
    assert "CERTIFICATE_VERIFY_FAILED" in sales.live.cli("queue", "status").stdout  # the guide
    assert not stored(hr.live, second)

    # ...until the right certificate is back: then the queued delivery goes through.
    hr.restart(kept)
    wait_for(lambda: second in hr.home(), "the post at hr.test after the fix")


# ----- the guide's commands and keys --------------------------------------------------------


def test_every_command_in_the_guide_exists() -> None:
    parser = build_parser()
    commands = guide_commands()
    assert len(commands) >= 8
    for argv in commands:
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"the guide's `watercooler {shlex.join(argv)}`: {errors.getvalue()}")


def test_every_config_snippet_in_the_guide_is_valid() -> None:
    blocks = [tomllib.loads(block) for block in code_blocks("toml")]
    assert len(blocks) >= 3
    for data in blocks:
        parse_config({"instance": {"domain": "sales.corp.example"}, **data})


def test_tls_files_resolve_like_other_paths_and_must_exist(tmp_path: Path) -> None:
    tls = LiveTls.issue(trustme.CA(), tmp_path / "tls", "eng.test")
    config = tmp_path / "watercooler.toml"
    base = '[instance]\ndomain = "eng.test"\n'

    def load(server: str, federation: str = "") -> Any:
        config.write_text(f"{base}[server]\n{server}\n[federation]\n{federation}\n")
        return load_config(config)

    loaded = load(
        'tls_certificate = "tls/eng.test.pem"\ntls_key = "tls/eng.test.key"',
        'ca_file = "tls/ca.pem"',
    )
    assert loaded.server.tls_certificate == str(tls.certificate)
    assert loaded.server.tls_key == str(tls.key)
    assert loaded.federation.ca_file == str(tls.ca_file)
    assert load("").server.tls_certificate is None and load("").federation.ca_file is None
    with pytest.raises(ConfigError, match=r"server\.tls_key: no such file"):
        load('tls_certificate = "tls/eng.test.pem"\ntls_key = "tls/missing.key"')
    with pytest.raises(ConfigError, match="give both or neither"):
        load('tls_certificate = "tls/eng.test.pem"')
    with pytest.raises(ConfigError, match=r"federation\.ca_file: no PEM certificate"):
        load("", 'ca_file = "tls/eng.test.key"')


def test_serve_refuses_a_key_that_is_not_the_certificates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = trustme.CA()
    ours, other = (LiveTls.issue(ca, tmp_path / n, f"{n}.test") for n in ("eng", "hr"))
    config = tmp_path / "watercooler.toml"
    config.write_text('[instance]\ndomain = "eng.test"\n')
    argv = ["--config", str(config), "serve", "--ssl-certfile", str(ours.certificate)]
    assert main([*argv, "--ssl-keyfile", str(other.key)]) == 2
    assert "KEY_VALUES_MISMATCH" in capsys.readouterr().err
    assert main(argv) == 2
    assert "both --ssl-certfile and --ssl-keyfile" in capsys.readouterr().err


def test_peers_are_checked_against_the_org_ca_as_well_as_the_public_ones(tmp_path: Path) -> None:
    tls = LiveTls.issue(trustme.CA(organization_name="Corp internal CA"), tmp_path, "eng.test")
    default, with_org = peer_trust(), peer_trust(str(tls.ca_file))

    def organisations(context: ssl.SSLContext) -> set[str]:
        return {
            value
            for cert in context.get_ca_certs()
            for rdn in cert["subject"]
            for key, value in rdn
            if key == "organizationName"
        }

    assert "Corp internal CA" in organisations(with_org) - organisations(default)
    assert len(with_org.get_ca_certs()) > 100  # the public CAs stay trusted
    for context in (default, with_org):
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
