"""Teams: API tokens for software, groups of people, folders shared with
either, invitations, and the counter that tells open sockets access changed."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.roles import Role
from models.tree import Folder
from models.users import User


class ApiToken(Model):
    """A long-lived credential for software. Only a hash of the secret is
    kept; `prefix` (shown in lists and the audit log) identifies it."""

    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16, unique=True)
    secret_hash = fields.CharField(max_length=64, unique=True)
    scopes: fields.Field[list[str]] = fields.JSONField(default=list)
    # The subtree the token is held to (its owner's, or one shared with them).
    folder: fields.ForeignKeyNullableRelation[Folder] = fields.ForeignKeyField(
        "models.Folder", related_name="api_tokens", null=True, on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    owner_id: str
    folder_id: str | None

    class Meta:
        table = "api_tokens"


class Group(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "groups"


class GroupMember(Model):
    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "models.Group", related_name="members", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    group_id: str
    user_id: str

    class Meta:
        table = "group_members"
        unique_together = (("group", "user"),)


class FolderGrant(Model):
    """A folder's subtree shared with one user or one group, in one role."""

    id = fields.UUIDField(primary_key=True)
    folder: fields.ForeignKeyRelation[Folder] = fields.ForeignKeyField(
        "models.Folder", related_name="grants", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    group: fields.ForeignKeyNullableRelation[Group] = fields.ForeignKeyField(
        "models.Group", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16)
    granted_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grants_given", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    folder_id: str
    user_id: str | None
    group_id: str | None
    granted_by_id: str

    class Meta:
        table = "folder_grants"
        unique_together = (("folder", "user"), ("folder", "group"))


class GroupSecret(Model):
    """A secret an admin sets for a group: its members' runs receive it when
    they have no secret of their own by that name."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "models.Group", related_name="secrets", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    ciphertext = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    group_id: str

    class Meta:
        table = "group_secrets"
        unique_together = (("group", "name"),)


class Invite(Model):
    """A single-use registration code (for admin-only registration)."""

    code_hash = fields.CharField(max_length=64, primary_key=True)
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invites", on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invites"


class AccessGeneration(Model):
    """One row whose counter goes up whenever access is taken away (a token
    revoked, a grant or membership removed, an account deactivated): every
    API process polls it, so open sockets re-check within a second."""

    id = fields.IntField(primary_key=True)
    generation = fields.BigIntField(default=0)

    class Meta:
        table = "access_generation"
