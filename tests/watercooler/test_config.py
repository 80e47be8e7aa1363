"""Config: the documented keys load; a wrong, missing or unknown value names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from watercooler.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"instance": {"domain": "eng.example.com"}}


def test_example_config_documents_and_loads_every_key() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.instance.domain == "eng.example.com"
    assert config.instance.base_url == "https://eng.example.com"
    assert config.federation.mode == "allowlist"
    assert config.peer_domains == {"sales.example.com", "hr.example.com"}
    text = (ROOT / "config.example.toml").read_text()
    for key in (
        "domain",
        "base_url",
        "name",
        "host",
        "port",
        "path",
        "mode",
        "authorized_fetch",
        "allow_http",
        "signature_max_skew",
        "inbox_backlog_limit",
        "[federation.resolve]",
        "[[peers]]",
    ):
        assert key in text


def test_defaults_are_safe() -> None:
    config = parse_config(MINIMAL)
    assert config.instance.base_url == "https://eng.example.com"
    assert config.federation.mode == "allowlist"
    assert config.federation.allow_http is False
    assert config.federation.authorized_fetch is False
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.peers == ()


def test_all_keys_parse() -> None:
    config = parse_config(
        {
            "instance": {"domain": "localhost:8080", "base_url": "http://localhost:8080/"},
            "server": {"host": "0.0.0.0", "port": 9000},
            "database": {"path": "/var/lib/wc.sqlite3"},
            "media": {"path": "/var/lib/wc-media"},
            "federation": {
                "mode": "open",
                "authorized_fetch": True,
                "allow_http": True,
                "resolve": {"Sales.Test": "127.0.0.1:8001"},
            },
            "peers": [{"domain": "sales.test"}, {"domain": "hr.test:8443"}],
        }
    )
    assert config.instance.base_url == "http://localhost:8080"
    assert config.federation.resolve == {"sales.test": "127.0.0.1:8001"}
    assert config.peer_domains == {"sales.test", "hr.test:8443"}
    assert config.federation.mode == "open" and config.federation.authorized_fetch


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "instance"),
        ({"instance": {}}, "instance.domain"),
        ({"instance": {"domain": "not a domain"}}, "instance.domain"),
        ({"instance": {"domain": "a.test", "base_url": "ftp://a.test"}}, "instance.base_url"),
        ({"instance": {"domain": "a.test", "base_url": "http://a.test"}}, "instance.base_url"),
        ({"instance": {"domain": "a.test", "base_url": "https://b.test"}}, "instance.base_url"),
        ({"instance": {"domain": "a.test", "name": 3}}, "instance.name"),
        ({**MINIMAL, "server": {"port": "80"}}, "server.port"),
        ({**MINIMAL, "server": {"port": 70000}}, "server.port"),
        ({**MINIMAL, "server": {"port": True}}, "server.port"),
        ({**MINIMAL, "database": {"path": ""}}, "database.path"),
        ({**MINIMAL, "media": {"path": 1}}, "media.path"),
        ({**MINIMAL, "federation": {"mode": "closed"}}, "federation.mode"),
        ({**MINIMAL, "federation": {"authorized_fetch": "yes"}}, "federation.authorized_fetch"),
        ({**MINIMAL, "federation": {"allow_http": 1}}, "federation.allow_http"),
        ({**MINIMAL, "federation": {"inbox_backlog_limit": -1}}, "federation.inbox_backlog_limit"),
        ({**MINIMAL, "federation": {"resolve": {"a.test": "nope"}}}, "federation.resolve.a.test"),
        ({**MINIMAL, "federation": {"resolve": []}}, "federation.resolve"),
        ({**MINIMAL, "peers": {"domain": "x.test"}}, "peers"),
        ({**MINIMAL, "peers": [{}]}, "peers[0].domain"),
        ({**MINIMAL, "peers": [{"domain": "x.test", "extra": 1}]}, "peers[0].extra"),
        ({**MINIMAL, "instanse": {}}, "instanse"),
        ({"instance": {"domain": "a.test", "domian": "x"}}, "instance.domian"),
    ],
)
def test_a_wrong_value_names_its_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    message = str(error.value)
    assert message.startswith(f"{key}:"), message
    assert "\n" not in message


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[instance\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
    bad = tmp_path / "bad.toml"
    bad.write_text('[instance]\ndomain = "a.test"\n[server]\nport = "x"\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: server\.port"):
        load_config(bad)


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "wc.toml"
    path.parent.mkdir()
    path.write_text('[instance]\ndomain = "a.test"\n[database]\npath = "db/x.sqlite3"\n')
    assert load_config(path).database.path == str(tmp_path / "etc" / "db" / "x.sqlite3")
