"""Tortoise models. Every module listed in MODEL_MODULES is one Tortoise app."""

from models.dependencies import DependencySet, DependencyStatus, EnvStatus, PythonEnv
from models.executions import TERMINAL_STATUSES, Execution, ExecutionStatus, WorkerHeartbeat
from models.login_throttle import LoginFailures
from models.operations import Artifact, Batch, Schedule, Secret, StoredFile
from models.tree import Folder, Language, Script, ScriptVersion
from models.users import RefreshToken, User

MODEL_MODULES = [
    "models.users",
    "models.tree",
    "models.executions",
    "models.operations",
    "models.dependencies",
    "models.login_throttle",
    "aerich.models",
]

__all__ = [
    "MODEL_MODULES",
    "TERMINAL_STATUSES",
    "Artifact",
    "Batch",
    "DependencySet",
    "DependencyStatus",
    "EnvStatus",
    "Execution",
    "ExecutionStatus",
    "Folder",
    "Language",
    "LoginFailures",
    "PythonEnv",
    "RefreshToken",
    "Schedule",
    "Script",
    "ScriptVersion",
    "Secret",
    "StoredFile",
    "User",
    "WorkerHeartbeat",
]
