"""The long-lived parts of one running service, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from graphql_api.accounts import Accounts
from graphql_api.security import TokenCodec, load_or_create_secret
from graphql_api.settings import Settings
from graphql_api.throttle import LoginThrottle
from models.tree_ops import TreeOps
from storage import LocalStorageConfig, ObjectStore, S3StorageConfig, create_object_store


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    accounts: Accounts
    tree: TreeOps

    async def close(self) -> None:
        await self.store.close()


def storage_config(settings: Settings) -> LocalStorageConfig | S3StorageConfig:
    if settings.storage_backend == "s3":
        if not settings.s3_endpoint:
            raise ValueError("SCRIPTBOX_STORAGE=s3 needs SCRIPTBOX_S3_ENDPOINT")
        return S3StorageConfig(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    return LocalStorageConfig(root=settings.storage_dir)


def build_services(settings: Settings) -> Services:
    store = create_object_store(storage_config(settings))
    tokens = TokenCodec(
        load_or_create_secret(settings.jwt_secret, settings.jwt_secret_file),
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    throttle = LoginThrottle(settings.login_max_failures, settings.login_window_seconds)
    return Services(
        settings=settings,
        store=store,
        accounts=Accounts(tokens, throttle),
        tree=TreeOps(store, settings.max_script_bytes, settings.max_folder_depth),
    )
