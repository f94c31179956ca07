"""The desktop app (PySide6).  The only package that imports Qt."""

from app.ui.compat import protect_singletons

protect_singletons()  # before any Qt call: see app/ui/compat.py
