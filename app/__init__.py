"""Hearken: a private, offline, hands-free voice assistant."""

__version__ = "0.1.0"
