"""Configuration: a TOML file mapped 1:1 onto frozen dataclasses.

`load_config` reads the file once and checks every key; a wrong, missing or unknown value
raises `ConfigError` whose message names the key, so start-up stops with one clear line.
Tests build `Config(...)` directly. Nothing here is read at import.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from federation.manifest import parse_public_key

ENV_VAR = "WATERCOOLER_CONFIG"
DEFAULT_PATH = "watercooler.toml"
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*(:\d{{1,5}})?$")
_HOSTPORT = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")


class ConfigError(Exception):
    """A configuration value is wrong; the message names the key."""


@dataclass(frozen=True)
class InstanceConfig:
    domain: str
    base_url: str
    name: str = "Watercooler"
    description: str = ""
    default_visibility: str = "public"
    """What a post gets when the client names no visibility and its author chose no default
    (`org` keeps the posts of apps that know only Mastodon's four inside the organisation)."""


VISIBILITIES = ("public", "unlisted", "org", "private", "direct")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: bool = True
    tls_certificate: str | None = None
    tls_key: str | None = None


@dataclass(frozen=True)
class DeliveryConfig:
    max_attempts: int = 15
    per_host_concurrency: int = 4
    timeout: float = 10.0
    retry_base: float = 60.0
    circuit_cooldown: float = 300.0


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "data/watercooler.sqlite3"


@dataclass(frozen=True)
class MediaConfig:
    path: str = "data/media"


@dataclass(frozen=True)
class FederationConfig:
    mode: str = "allowlist"
    authorized_fetch: bool = False
    allow_http: bool = False
    signature_max_skew: int = 3600
    inbox_backlog_limit: int = 5000
    inbox_rate_limit: int = 1000
    """Activities a second each peer domain may send to our inboxes; 0: no limit."""
    inbox_rate_burst: int = 10_000
    """Activities a peer domain may send at once, before `inbox_rate_limit` applies."""
    resolve: dict[str, str] = field(default_factory=dict)
    ca_file: str | None = None


@dataclass(frozen=True)
class OAuthConfig:
    password_grant: bool = True


@dataclass(frozen=True)
class AuthConfig:
    password_sign_in: bool = True
    """Off: people sign in only through single sign-on ([oidc]); the password forms and the
    OAuth password grant are refused (watercooler/sso.py)."""
    admin_password_sign_in: bool = True
    """With password sign-in off, admins may still sign in with a password (break-glass)."""


@dataclass(frozen=True)
class OidcConfig:
    """Single sign-on with an OpenID Connect provider (watercooler/oidc.py, watercooler/sso.py)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    display_name: str = "single sign-on"
    required_claim: str | None = None
    required_values: tuple[str | bool, ...] = ()
    username_claim: str = "preferred_username"
    name_claim: str = "name"
    department_claim: str | None = "department"
    title_claim: str | None = "title"
    link_by_email: bool = False


@dataclass(frozen=True)
class PeerConfig:
    domain: str


@dataclass(frozen=True)
class OrgConfig:
    public_keys: tuple[str, ...] = ()
    """The org key(s) that sign org manifests (`ed25519:...`, from `watercooler org keygen`);
    two while IT rolls a new key out. Empty: every manifest is refused."""
    manifest: str | None = None
    """A signed manifest file offered at every start (a new division's first peer list)."""


@dataclass(frozen=True)
class Config:
    instance: InstanceConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    oidc: OidcConfig | None = None
    peers: tuple[PeerConfig, ...] = ()
    org: OrgConfig = field(default_factory=OrgConfig)

    @property
    def peer_domains(self) -> frozenset[str]:
        return frozenset(peer.domain for peer in self.peers)


def _check_domain(key: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 253 or not _DOMAIN.match(value.lower()):
        raise ConfigError(f"{key}: expected a domain name such as 'eng.example.com', got {value!r}")
    return value.lower()


class _Section:
    """Reads one table, remembering which keys were used so unknown ones can be reported."""

    def __init__(self, name: str, data: object) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{name}: expected a table")
        self.name = name
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required or default is ...:
                raise ConfigError(f"{self.key(key)}: missing")
            return default
        value = self.data[key]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise ConfigError(f"{self.key(key)}: expected {names}, got {value!r}")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")


def parse_config(data: dict[str, Any]) -> Config:
    """Build a Config from parsed TOML, checking every value."""
    root = _Section("", data)

    instance = _Section("instance", root.get("instance", dict, required=True))
    domain = _check_domain("instance.domain", instance.get("domain", str, required=True))
    federation = _Section("federation", root.get("federation", dict, {}))
    allow_http = federation.get("allow_http", bool, False)
    base_url = instance.get("base_url", str, f"https://{domain}").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise ConfigError(f"instance.base_url: expected 'https://{domain}', got {base_url!r}")
    if parts.scheme == "http" and not allow_http:
        raise ConfigError(
            "instance.base_url: plain http needs federation.allow_http = true (local use only)"
        )
    if parts.netloc.lower() != domain:
        raise ConfigError(f"instance.base_url: host {parts.netloc!r} is not instance.domain")
    name = instance.get("name", str, "Watercooler")
    if not name.strip():
        raise ConfigError("instance.name: must not be empty")
    description = instance.get("description", str, "")
    if len(description) > 5000:
        raise ConfigError("instance.description: at most 5000 characters")
    default_visibility = instance.get("default_visibility", str, "public")
    if default_visibility not in VISIBILITIES:
        raise ConfigError(
            f"instance.default_visibility: expected one of {', '.join(VISIBILITIES)},"
            f" got {default_visibility!r}"
        )
    instance.finish()

    server = _Section("server", root.get("server", dict, {}))
    host = server.get("host", str, "127.0.0.1")
    port = server.get("port", int, 8080)
    if not 0 <= port <= 65535:
        raise ConfigError(f"server.port: expected 0-65535, got {port}")
    workers = server.get("workers", bool, True)
    tls_certificate = server.get("tls_certificate", str, "") or None
    tls_key = server.get("tls_key", str, "") or None
    if (tls_certificate is None) != (tls_key is None):
        raise ConfigError("server.tls_certificate and server.tls_key: give both or neither")
    server.finish()

    delivery = _Section("delivery", root.get("delivery", dict, {}))
    max_attempts = delivery.get("max_attempts", int, DeliveryConfig.max_attempts)
    if not 1 <= max_attempts <= 100:
        raise ConfigError(f"delivery.max_attempts: expected 1-100, got {max_attempts}")
    per_host = delivery.get("per_host_concurrency", int, DeliveryConfig.per_host_concurrency)
    if not 1 <= per_host <= 64:
        raise ConfigError(f"delivery.per_host_concurrency: expected 1-64, got {per_host}")
    timeout = delivery.get("timeout", (int, float), DeliveryConfig.timeout)
    if isinstance(timeout, bool) or not 1 <= timeout <= 120:
        raise ConfigError(f"delivery.timeout: expected 1-120 seconds, got {timeout}")
    retry_base = delivery.get("retry_base", (int, float), DeliveryConfig.retry_base)
    if isinstance(retry_base, bool) or not 0.1 <= retry_base <= 3600:
        raise ConfigError(f"delivery.retry_base: expected 0.1-3600 seconds, got {retry_base}")
    cooldown = delivery.get("circuit_cooldown", (int, float), DeliveryConfig.circuit_cooldown)
    if isinstance(cooldown, bool) or not 0.1 <= cooldown <= 86400:
        raise ConfigError(f"delivery.circuit_cooldown: expected 0.1-86400 seconds, got {cooldown}")
    delivery.finish()

    database = _Section("database", root.get("database", dict, {}))
    db_path = database.get("path", str, DatabaseConfig.path)
    if not db_path:
        raise ConfigError("database.path: must not be empty")
    database.finish()

    media = _Section("media", root.get("media", dict, {}))
    media_path = media.get("path", str, MediaConfig.path)
    if not media_path:
        raise ConfigError("media.path: must not be empty")
    media.finish()

    mode = federation.get("mode", str, "allowlist")
    if mode not in ("allowlist", "open"):
        raise ConfigError(f"federation.mode: expected 'allowlist' or 'open', got {mode!r}")
    authorized_fetch = federation.get("authorized_fetch", bool, False)
    skew = federation.get("signature_max_skew", int, 3600)
    if not 0 < skew <= 86400:
        raise ConfigError(f"federation.signature_max_skew: expected 1-86400 seconds, got {skew}")
    backlog = federation.get("inbox_backlog_limit", int, FederationConfig.inbox_backlog_limit)
    if backlog < 0:
        raise ConfigError(f"federation.inbox_backlog_limit: expected 0 or more, got {backlog}")
    rate = federation.get("inbox_rate_limit", int, FederationConfig.inbox_rate_limit)
    if rate < 0:
        raise ConfigError(f"federation.inbox_rate_limit: expected 0 or more, got {rate}")
    burst = federation.get("inbox_rate_burst", int, FederationConfig.inbox_rate_burst)
    if burst < 1:
        raise ConfigError(f"federation.inbox_rate_burst: expected 1 or more, got {burst}")
    resolve_raw = federation.get("resolve", dict, {})
    resolve = {}
    for key, target in resolve_raw.items():
        resolved_domain = _check_domain(f"federation.resolve.{key}", key)
        if not isinstance(target, str) or not _HOSTPORT.match(target):
            raise ConfigError(f"federation.resolve.{key}: expected 'host:port', got {target!r}")
        resolve[resolved_domain] = target
    ca_file = federation.get("ca_file", str, "") or None
    federation.finish()

    peers_raw = root.get("peers", list, [])
    oauth = _Section("oauth", root.get("oauth", dict, {}))
    password_grant = oauth.get("password_grant", bool, True)
    oauth.finish()
    auth_config, oidc_config = _parse_sign_in(root, allow_http)

    org = _Section("org", root.get("org", dict, {}))
    raw_keys = org.get("public_key", (str, list), [])
    org_keys = tuple([raw_keys] if isinstance(raw_keys, str) else raw_keys)
    for org_key in org_keys:
        try:
            parse_public_key(org_key)
        except ValueError as error:
            raise ConfigError(f"org.public_key: {error}, got {org_key!r}") from None
    org_manifest = org.get("manifest", str, "") or None
    if org_manifest and not org_keys:
        raise ConfigError("org.manifest: needs org.public_key to verify it")
    org.finish()

    peers = []
    for index, entry in enumerate(peers_raw):
        peer = _Section(f"peers[{index}]", entry)
        peer_domain = _check_domain(f"peers[{index}].domain", peer.get("domain", str))
        peer.finish()
        peers.append(PeerConfig(domain=peer_domain))
    root.finish()

    return Config(
        instance=InstanceConfig(
            domain=domain,
            base_url=base_url,
            name=name,
            description=description,
            default_visibility=default_visibility,
        ),
        server=ServerConfig(
            host=host,
            port=port,
            workers=workers,
            tls_certificate=tls_certificate,
            tls_key=tls_key,
        ),
        delivery=DeliveryConfig(
            max_attempts=max_attempts,
            per_host_concurrency=per_host,
            timeout=float(timeout),
            retry_base=float(retry_base),
            circuit_cooldown=float(cooldown),
        ),
        database=DatabaseConfig(path=db_path),
        media=MediaConfig(path=media_path),
        federation=FederationConfig(
            mode=mode,
            authorized_fetch=authorized_fetch,
            allow_http=allow_http,
            signature_max_skew=skew,
            inbox_backlog_limit=backlog,
            inbox_rate_limit=rate,
            inbox_rate_burst=burst,
            resolve=resolve,
            ca_file=ca_file,
        ),
        oauth=OAuthConfig(password_grant=password_grant),
        auth=auth_config,
        oidc=oidc_config,
        peers=tuple(peers),
        org=OrgConfig(public_keys=org_keys, manifest=org_manifest),
    )


def _parse_sign_in(root: _Section, allow_http: bool) -> tuple[AuthConfig, OidcConfig | None]:
    """[auth] and [oidc]: how people sign in (docs: config.example.toml)."""
    auth = _Section("auth", root.get("auth", dict, {}))
    password_sign_in = auth.get("password_sign_in", bool, True)
    admin_password = auth.get("admin_password_sign_in", bool, True)
    auth.finish()
    raw = root.get("oidc", dict, None)
    if raw is None:
        if not password_sign_in:
            raise ConfigError("auth.password_sign_in: false needs an [oidc] section to sign in")
        return AuthConfig(password_sign_in, admin_password), None
    oidc = _Section("oidc", raw)
    issuer = oidc.get("issuer", str, required=True).rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"oidc.issuer: expected an https URL, got {issuer!r}")
    if parts.scheme == "http" and not allow_http:
        raise ConfigError("oidc.issuer: plain http needs federation.allow_http = true")
    names: dict[str, str | None] = {}
    for key in ("client_id", "client_secret"):
        names[key] = oidc.get(key, str, required=True)
        if not names[key]:
            raise ConfigError(f"oidc.{key}: must not be empty")
    scopes = tuple(oidc.get("scopes", str, "openid profile email").split())
    if "openid" not in scopes:
        raise ConfigError("oidc.scopes: must include 'openid'")
    button = oidc.get("display_name", str, "single sign-on").strip()
    if not button or len(button) > 60:
        raise ConfigError("oidc.display_name: expected 1-60 characters")
    for key, default in (
        ("username_claim", "preferred_username"),
        ("name_claim", "name"),
        ("department_claim", "department"),
        ("title_claim", "title"),
        ("required_claim", ""),
    ):
        value = oidc.get(key, str, default).strip()
        if key in ("username_claim", "name_claim") and not value:
            raise ConfigError(f"oidc.{key}: must not be empty")
        names[key] = value or None
    raw_values = oidc.get("required_values", (str, bool, list), [])
    values = tuple(raw_values if isinstance(raw_values, list) else [raw_values])
    if any(not isinstance(v, str | bool) for v in values):
        raise ConfigError("oidc.required_values: expected strings or true/false")
    if (names["required_claim"] is None) != (not values):
        raise ConfigError("oidc.required_claim and oidc.required_values: give both or neither")
    link_by_email = oidc.get("link_by_email", bool, False)
    oidc.finish()
    config = OidcConfig(
        issuer=issuer,
        client_id=str(names["client_id"]),
        client_secret=str(names["client_secret"]),
        scopes=scopes,
        display_name=button,
        required_claim=names["required_claim"],
        required_values=values,
        username_claim=str(names["username_claim"]),
        name_claim=str(names["name_claim"]),
        department_claim=names["department_claim"],
        title_claim=names["title_claim"],
        link_by_email=link_by_email,
    )
    return AuthConfig(password_sign_in, admin_password), config


def config_path(explicit: str | None) -> Path:
    """--config wins, then $WATERCOOLER_CONFIG, then ./watercooler.toml."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such file (run 'watercooler init' to write one)") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error
    try:
        return _relative_to(parse_config(data), path.parent)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def _relative_to(config: Config, directory: Path) -> Config:
    """Paths in a config file are relative to the file, not to the current directory."""
    from dataclasses import replace

    def resolve(p: str) -> str:
        return p if Path(p).is_absolute() else str(directory / p)

    def resolve_file(key: str, p: str | None) -> str | None:
        """A file the server reads at start: missing, it stops start-up here with its key."""
        if p is None:
            return None
        found = resolve(p)
        if not Path(found).is_file():
            raise ConfigError(f"{key}: no such file {found}")
        return found

    return replace(
        config,
        database=DatabaseConfig(path=resolve(config.database.path)),
        media=MediaConfig(path=resolve(config.media.path)),
        server=replace(
            config.server,
            tls_certificate=resolve_file("server.tls_certificate", config.server.tls_certificate),
            tls_key=resolve_file("server.tls_key", config.server.tls_key),
        ),
        federation=replace(
            config.federation,
            ca_file=_check_ca_file(resolve_file("federation.ca_file", config.federation.ca_file)),
        ),
        org=replace(config.org, manifest=resolve_file("org.manifest", config.org.manifest)),
    )


def _check_ca_file(path: str | None) -> str | None:
    """The CA file must hold at least one PEM certificate, or no peer would ever verify."""
    if path is not None:
        try:
            ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as error:
            message = f"federation.ca_file: no PEM certificate in {path} ({error})"
            raise ConfigError(message) from None
    return path


def render_config(
    *, domain: str, base_url: str, name: str, host: str, port: int, allow_http: bool, data_dir: str
) -> str:
    """The TOML `watercooler init` writes: the few keys that differ from the defaults."""
    return (
        "# Watercooler configuration. Every key is documented in config.example.toml.\n"
        "[instance]\n"
        f'domain = "{domain}"\n'
        f'base_url = "{base_url}"\n'
        f'name = "{name}"\n\n'
        "[server]\n"
        f'host = "{host}"\n'
        f"port = {port}\n\n"
        "[database]\n"
        f'path = "{data_dir}/watercooler.sqlite3"\n\n'
        "[media]\n"
        f'path = "{data_dir}/media"\n\n'
        "[federation]\n"
        'mode = "allowlist"\n'
        f"allow_http = {'true' if allow_http else 'false'}\n"
    )
