"""Python dependencies of scripts: declared (PEP 723 or a
requirements text), resolved once on the host (pip, wheels only), installed
without network into a cached Docker volume, mounted read-only by runs."""

from services.dependencies.config import DependencyConfig
from services.dependencies.environments import DependencyManager, Prepared
from services.dependencies.resolver import DependencyFailure
from services.dependencies.spec import DeclarationError, Declared, declared

__all__ = [
    "DeclarationError",
    "Declared",
    "DependencyConfig",
    "DependencyFailure",
    "DependencyManager",
    "Prepared",
    "declared",
]
