"""Python dependencies of scripts: declared (PEP 723 or a
requirements text), resolved once on the host (pip, wheels only), installed
without network into a cached Docker volume, mounted read-only by runs."""

from engine.deps.config import DependencyConfig
from engine.deps.manager import DependencyManager, Prepared
from engine.deps.resolver import DependencyFailure
from engine.deps.spec import DeclarationError, Declared, declared

__all__ = [
    "DeclarationError",
    "Declared",
    "DependencyConfig",
    "DependencyFailure",
    "DependencyManager",
    "Prepared",
    "declared",
]
