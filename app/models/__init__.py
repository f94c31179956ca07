"""Model catalog, resolution, assembly and verification.

Typical use::

    from app.models import ModelError, resolve_all

    models = resolve_all(settings)          # {"vad": ResolvedModel, "stt": ..., "llm": ..., "tts": ..., "turn": ...}
    models["llm"].path                      # the GGUF file to load
"""

from app.models.catalog import (
    PROFILES,
    ROLES,
    CatalogEntry,
    FileRef,
    ModelError,
    Package,
    Weights,
    entry_by_id,
    entry_for,
    install_hint,
    load_catalog,
    reinstall_hint,
)
from app.models.formats import ModelFormat
from app.models.resolver import (
    ROLE_FORMATS,
    ROLE_SETTINGS,
    ResolvedModel,
    assemble_all,
    assembled_dir,
    describe_models,
    module_dir,
    needs_assembly,
    resolve,
    resolve_all,
    resolve_entry,
)

__all__ = [
    "PROFILES",
    "ROLES",
    "ROLE_FORMATS",
    "ROLE_SETTINGS",
    "CatalogEntry",
    "FileRef",
    "ModelError",
    "ModelFormat",
    "Package",
    "ResolvedModel",
    "Weights",
    "assemble_all",
    "assembled_dir",
    "describe_models",
    "entry_by_id",
    "entry_for",
    "install_hint",
    "load_catalog",
    "module_dir",
    "needs_assembly",
    "reinstall_hint",
    "resolve",
    "resolve_all",
    "resolve_entry",
]
