"""Tortoise models. Every module listed in MODEL_MODULES is one Tortoise app."""

from models.audit import AuditEntry
from models.batches import Batch
from models.dependencies import DependencySet, DependencyStatus, EnvStatus, PythonEnv
from models.executions import Execution, ExecutionCode, WorkerHeartbeat
from models.files import Artifact, StoredFile
from models.leases import Lease
from models.login_throttle import LoginFailures
from models.schedules import Schedule
from models.secrets import Secret
from models.services import Service, ServiceEvent, ServiceLogChunk
from models.teams import (
    AccessGeneration,
    ApiToken,
    FolderGrant,
    Group,
    GroupMember,
    GroupSecret,
    Invite,
)
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
    "models.teams",
    "models.audit",
    "models.leases",
    "models.services",
    "aerich.models",
]

__all__ = [
    "MODEL_MODULES",
    "AccessGeneration",
    "ApiToken",
    "Artifact",
    "AuditEntry",
    "Batch",
    "DependencySet",
    "DependencyStatus",
    "EnvStatus",
    "Execution",
    "ExecutionCode",
    "Folder",
    "FolderGrant",
    "Group",
    "GroupMember",
    "GroupSecret",
    "Invite",
    "Lease",
    "LoginFailures",
    "PythonEnv",
    "RefreshToken",
    "Schedule",
    "Script",
    "ScriptVersion",
    "Secret",
    "Service",
    "ServiceEvent",
    "ServiceLogChunk",
    "StoredFile",
    "User",
    "WorkerHeartbeat",
]
