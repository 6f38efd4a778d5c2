"""Helpers shared by the VX11 services. Standard library only, so that
``python -m madre.maintenance`` runs under any Python 3.11 without the venv."""

from __future__ import annotations

VERSION = "1.0.0"
