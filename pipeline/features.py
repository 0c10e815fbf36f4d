"""Registration of the built-in features: one ``register`` call per job module.

A new job is a new module under ``pipeline/`` plus one ``register(Feature(...))`` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Bundled sample inputs, resolved from this file so the defaults work from any directory.
DATA_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "data"

# --- registrations (one block per feature) ---
