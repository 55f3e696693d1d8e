"""Python dependencies of scripts: declared (PEP 723 or a requirements
text), resolved once on the host (pip, wheels only), installed without
network into a cached Docker volume, mounted read-only by runs.

One module per step, in the order a set goes through them:

    declarations.py  what a script declares, checked and keyed on save
    status.py        what the API side records on save and shows GraphQL
    resolution.py    pip on the host: a declared set becomes pinned wheels
    environments.py  DependencyManager (worker side): a ready environment per run
    claims.py        rows as cross-process locks, so each step runs once
    eviction.py      the cache's bounds per engine
    failures.py      DependencyFailure and its codes
    config.py        what the feature works with, built from core.settings
"""

from services.dependencies.config import DependencyConfig
from services.dependencies.declarations import DeclarationError, Declared, declared
from services.dependencies.environments import DependencyManager, Prepared
from services.dependencies.failures import DependencyFailure
from services.dependencies.status import DependencyState, dependency_states, script_saved

__all__ = [
    "DeclarationError",
    "Declared",
    "DependencyConfig",
    "DependencyFailure",
    "DependencyManager",
    "DependencyState",
    "Prepared",
    "declared",
    "dependency_states",
    "script_saved",
]
