"""Tortoise models. Every module listed in MODEL_MODULES is one Tortoise app."""

from models.batches import Batch
from models.dependencies import DependencySet, DependencyStatus, EnvStatus, PythonEnv
from models.executions import Execution, WorkerHeartbeat
from models.files import Artifact, StoredFile
from models.login_throttle import LoginFailures
from models.schedules import Schedule
from models.secrets import Secret
from models.tree import Folder, Script, ScriptVersion
from models.users import RefreshToken, User

MODEL_MODULES = [
    "models.users",
    "models.tree",
    "models.executions",
    "models.schedules",
    "models.batches",
    "models.files",
    "models.secrets",
    "models.dependencies",
    "models.login_throttle",
    "aerich.models",
]

__all__ = [
    "MODEL_MODULES",
    "Artifact",
    "Batch",
    "DependencySet",
    "DependencyStatus",
    "EnvStatus",
    "Execution",
    "Folder",
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
