"""The instance settings admins may change at run time, over the config file's `[instance]`.

Only values read per request, whose change has no effect beyond what is shown or defaulted
from then on, are here: the instance's name and description (the instance API, NodeInfo,
the pages) and `default_visibility` (what a post gets when neither the client nor the author
chose one). The domain, base URL, federation mode, peers and delivery settings shape keys,
URIs and workers made at start-up: they stay in the file.

A stored value overrides the file's; `apply` makes the effective config, which the app's
lifespan installs as `services.config` at start and the admin service after each change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from store import instance_settings
from store.db import Database
from watercooler.config import VISIBILITIES, Config

NAME_MAX = 100
DESCRIPTION_MAX = 2000


class SettingError(ValueError):
    """A value a setting cannot take; the message is for the admin."""


def _name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > NAME_MAX:
        raise SettingError(f"The name must be 1 to {NAME_MAX} characters.")
    return value


def _description(value: str) -> str:
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise SettingError(f"The description may have at most {DESCRIPTION_MAX} characters.")
    return value


def _visibility(value: str) -> str:
    if value not in VISIBILITIES:
        raise SettingError(f"The default visibility must be one of {', '.join(VISIBILITIES)}.")
    return value


@dataclass(frozen=True)
class Setting:
    key: str  # the column of the table and the field of `InstanceConfig`
    label: str
    help: str
    check: Callable[[str], str]  # the value to store, or SettingError


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "Instance name", "Shown in apps, on the pages and in NodeInfo.", _name),
    Setting(
        "description",
        "Description",
        "Shown in apps that describe the instance (plain text).",
        _description,
    ),
    Setting(
        "default_visibility",
        "Default visibility",
        "What a post gets when the app names none and its author chose no default.",
        _visibility,
    ),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}


def current(config: Config) -> dict[str, str]:
    """The values in force, as `config` (the effective one) holds them."""
    return {key: str(getattr(config.instance, key)) for key in BY_KEY}


def checked(changes: Mapping[str, str]) -> dict[str, str]:
    """The values to store, or SettingError for an unknown key or a bad value."""
    found = {}
    for key, value in changes.items():
        setting = BY_KEY.get(key)
        if setting is None:
            raise SettingError(f"{key!r} cannot be changed at run time.")
        found[key] = setting.check(value)
    return found


def overlay(config: Config, stored: Mapping[str, str]) -> Config:
    """`config` with the stored values in place of the file's."""
    known = {key: value for key, value in stored.items() if key in BY_KEY}
    return replace(config, instance=replace(config.instance, **known)) if known else config


async def apply(db: Database, config: Config) -> Config:
    """The effective config: the file's, with the stored settings over it."""
    async with db.read() as conn:
        stored = await instance_settings.all_settings(conn)
    return overlay(config, stored)
