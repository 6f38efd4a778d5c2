"""Settings of every VX11 service, read from the environment only (see ARCHITECTURE.md)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

FLAG_NAMES = ("playwright", "deepseek_runtime", "smoke_tests")
FLAG_PREFIX = "VX11_FLAG_"
FLAGS_FILE = Path("config") / "flags.toml"
_TRUE = {"1", "true", "yes", "on"}


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    token: str
    faults: tuple[str, ...]
    bind: str
    data_dir: Path
    redis_url: str
    madre_url: str
    switch_url: str
    spawner_url: str
    window_allowlist: tuple[str, ...]
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        return cls(
            token=e.get("VX11_TOKEN", ""),
            faults=_csv(e.get("VX11_FAULTS", "")),
            bind=e.get("VX11_BIND", "127.0.0.1"),
            data_dir=Path(e.get("VX11_DATA_DIR", "data")),
            redis_url=e.get("VX11_REDIS_URL", "redis://127.0.0.1:6379/0"),
            madre_url=e.get("VX11_MADRE_URL", "http://127.0.0.1:8001").rstrip("/"),
            switch_url=e.get("VX11_SWITCH_URL", "http://127.0.0.1:8002").rstrip("/"),
            spawner_url=e.get("VX11_SPAWNER_URL", "http://127.0.0.1:8003").rstrip("/"),
            window_allowlist=_csv(e.get("VX11_WINDOW_ALLOWLIST", "switch")),
            env=e,
        )

    @property
    def db_path(self) -> Path:
        return self.data_dir / "vx11.db"


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def flags_from_file(path: Path = FLAGS_FILE) -> dict[str, bool]:
    """The [flags] table of config/flags.toml; missing file or names read as off."""
    try:
        table = tomllib.loads(path.read_text()).get("flags", {})
    except (OSError, tomllib.TOMLDecodeError):
        table = {}
    return {name: parse_bool(table.get(name, False)) for name in FLAG_NAMES}


def effective_flags(env: dict[str, str], path: Path = FLAGS_FILE) -> dict[str, bool]:
    """VX11_FLAG_<NAME> from the environment, falling back to the config file."""
    from_file = flags_from_file(path)
    out = {}
    for name in FLAG_NAMES:
        raw = env.get(FLAG_PREFIX + name.upper())
        out[name] = from_file[name] if raw is None or raw.strip() == "" else parse_bool(raw)
    return out
