"""Object store on S3 (MinIO in docker-compose, any S3 in production) via the minio SDK.

The SDK is blocking, so every call runs in a thread. Streamed uploads hold a
thread for their whole duration, so they get their own pool: on the shared
default pool (min(32, cpus + 4) threads) a handful of slow uploads would
starve every other ``to_thread`` user, and deadlock if the upload's chunk
source itself needs a thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import io
import math
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import MAX_MULTIPART_COUNT, MIN_PART_SIZE

from storage.aio import finish, run_sync, wait_quietly
from storage.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    as_utc,
    normalize_content_type,
)
from storage.config import S3StorageConfig
from storage.errors import ObjectNotFound, ObjectTooLarge, StorageUnavailable
from storage.keys import is_valid_key, validate_delete_prefix, validate_key, validate_prefix
from storage.s3pipe import ChunkPipe

T = TypeVar("T")

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchObject", "NotFound"})
_MAX_STREAM_UPLOADS = 16
# Chunks buffered between the client and the uploading thread, per upload.
_PIPE_CHUNKS = 8
# Parallel HEAD requests when `list` fetches content types.
_STAT_CONCURRENCY = 8
_MAX_PRESIGN = timedelta(days=7)  # the S3 limit for SigV4 presigned URLs


class S3ObjectStore:
    def __init__(self, config: S3StorageConfig) -> None:
        host, secure = _parse_endpoint(config.endpoint, config.secure)
        self._bucket = config.bucket
        self._where = f"S3 {'https' if secure else 'http'}://{host}/{config.bucket}"
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout),
            # Room for every streamed upload plus ordinary requests, so that
            # connections are reused rather than opened and discarded.
            maxsize=_MAX_STREAM_UPLOADS + 16,
            retries=urllib3.Retry(
                total=config.max_retries,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
            ),
        )
        self._client = Minio(
            host,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=secure,
            region=config.region,
            http_client=self._http,
        )
        self._uploads = concurrent.futures.ThreadPoolExecutor(
            max_workers=_MAX_STREAM_UPLOADS, thread_name_prefix="s3-upload"
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    async def ensure_ready(self) -> None:
        def create_if_missing() -> None:
            if self._client.bucket_exists(self._bucket):
                return
            try:
                self._client.make_bucket(self._bucket)
            except S3Error as exc:
                # Another instance of the service created it first.
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

        await self._run(create_if_missing)

    async def put_bytes(
        self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        validate_key(key)
        content_type = normalize_content_type(content_type)
        result = await self._run(
            self._client.put_object,
            self._bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type,
        )
        return ObjectInfo(key, len(data), content_type, _written_at(result.http_headers))

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Stream to S3 through a bounded pipe; no temp file, memory ~ one part.

        minio's put_object with an unknown length reads one part at a time
        from the pipe: a body of up to one part becomes a single PUT sent only
        after the stream ended, a longer one a multipart upload. If the stream
        fails or grows past max_bytes, the pipe makes the reader raise, which
        makes minio abort the multipart upload, and we wait for that before
        reporting: no object, no part left behind.
        """
        validate_key(key)
        content_type = normalize_content_type(content_type)
        pipe = ChunkPipe(asyncio.get_running_loop(), _PIPE_CHUNKS)

        def upload() -> Any:
            try:
                return self._client.put_object(
                    self._bucket,
                    key,
                    pipe,  # type: ignore[arg-type]  # minio only calls read()
                    -1,
                    content_type,
                    part_size=_part_size(max_bytes),
                    # One part in flight bounds memory; parallel parts would
                    # queue without limit in minio's pool.
                    num_parallel_uploads=1,
                )
            finally:
                pipe.reader_finished()

        job = self._uploads.submit(upload)
        outcome = asyncio.wrap_future(job)
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLarge(key, max_bytes)
                if chunk and not await pipe.send(bytes(chunk)):
                    break  # the upload failed; `outcome` carries why
            await pipe.finish()
        except BaseException:
            pipe.abort()
            if not job.cancel():  # not started yet: then nothing was sent at all
                await wait_quietly(outcome)
            raise
        try:
            result = await finish(outcome)
        except Exception as exc:
            raise self._translate(exc, key) from exc
        return ObjectInfo(key, size, content_type, _written_at(result.http_headers))

    async def get_bytes(self, key: str) -> bytes:
        validate_key(key)

        def read() -> bytes:
            response = self._client.get_object(self._bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await self._run(read, key=key)

    def iter_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        validate_key(key)  # here, not in the generator, so a bad key fails at the call
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        return self._iter_chunks(key, chunk_size)

    async def _iter_chunks(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        response = await self._run(self._client.get_object, self._bucket, key, key=key)
        try:
            while chunk := await self._run(response.read, chunk_size, key=key):
                yield chunk
        finally:
            # Closing drops a half-read connection instead of returning it to
            # the pool with unread bytes; cheap, so no thread needed.
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        found = await self._run(self._client.stat_object, self._bucket, key, key=key)
        return ObjectInfo(
            key,
            int(found.size or 0),
            found.content_type or DEFAULT_CONTENT_TYPE,
            as_utc(found.last_modified) if found.last_modified else datetime.now(UTC),
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        validate_key(key)
        # S3 answers 204 for a key that is not there: idempotent as is.
        await self._run(self._client.remove_object, self._bucket, key)

    async def delete_prefix(self, prefix: str) -> int:
        validate_delete_prefix(prefix)

        def remove_all() -> int:
            # Everything under the prefix goes, including keys this package
            # would not have written (e.g. "folder/" markers from a console).
            keys = [obj.object_name for obj in self._list_raw(prefix)]
            self._remove(keys)
            return len(keys)

        return await self._run(remove_all)

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Objects under prefix, sorted by key, each with its content type.

        S3 listings carry no content type, so each object gets a HEAD (a few
        at a time). Keys that break the key rules (made by other tools) are
        left out, so every listed key works with the other methods.
        """
        validate_prefix(prefix)
        names = await self._run(
            lambda: [
                obj.object_name for obj in self._list_raw(prefix) if is_valid_key(obj.object_name)
            ]
        )
        limit = asyncio.Semaphore(_STAT_CONCURRENCY)

        async def stat_or_none(name: str) -> ObjectInfo | None:
            async with limit:
                try:
                    return await self.stat(name)
                except ObjectNotFound:
                    return None  # deleted since the listing

        infos = await asyncio.gather(*(stat_or_none(name) for name in names))
        return sorted((info for info in infos if info is not None), key=lambda info: info.key)

    async def presigned_get_url(
        self, key: str, expires: timedelta, download_name: str | None = None
    ) -> str | None:
        """A GET URL signed for ``expires`` (1 s to 7 days); it does not check the key exists.

        The host in the URL is the configured endpoint: the client fetching it
        must be able to reach that address.
        """
        validate_key(key)
        if not timedelta(seconds=1) <= expires <= _MAX_PRESIGN:
            raise ValueError("expires must be between 1 second and 7 days")
        headers = (
            {"response-content-disposition": _attachment(download_name)} if download_name else None
        )
        # Not pure computation: without a configured region minio asks the
        # server for the bucket's region once.
        url: str = await self._run(
            self._client.presigned_get_object,
            self._bucket,
            key,
            expires,
            headers,
        )
        return url

    async def close(self) -> None:
        def shut() -> None:
            self._uploads.shutdown(wait=True)
            self._http.clear()

        await run_sync(shut)

    # -- helpers -------------------------------------------------------------

    def _list_raw(self, prefix: str) -> Iterable[Any]:
        return self._client.list_objects(self._bucket, prefix=prefix or None, recursive=True)  # type: ignore[no-any-return]

    def _remove(self, keys: Sequence[str]) -> None:
        # remove_objects is lazy (1000 keys per request) and reports
        # failures only while being iterated.
        errors = list(self._client.remove_objects(self._bucket, (DeleteObject(k) for k in keys)))
        if errors:
            first = errors[0]
            raise StorageUnavailable(
                f"{self._where}: could not delete {len(errors)} object(s); "
                f"first: {first.name!r}: {first.code} {first.message}"
            )

    async def _run(self, func: Callable[..., T], *args: Any, key: str | None = None) -> T:
        try:
            return await run_sync(func, *args)
        except Exception as exc:
            raise self._translate(exc, key) from exc

    def _translate(self, exc: Exception, key: str | None) -> Exception:
        if isinstance(exc, S3Error):
            if exc.code in _NOT_FOUND_CODES and key is not None:
                return ObjectNotFound(key)
            if exc.code == "NoSuchBucket":
                return StorageUnavailable(
                    f"{self._where}: the bucket does not exist (was ensure_ready() called?)"
                )
            return StorageUnavailable(f"{self._where}: {exc.code}: {exc.message}")
        if isinstance(exc, ServerError | InvalidResponseError):
            return StorageUnavailable(f"{self._where}: bad response: {exc}")
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            return StorageUnavailable(f"{self._where} is unreachable: {exc}")
        return exc  # already ours, or a programming error (e.g. ValueError)


def _parse_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """Accept "host:port" or "http(s)://host:port[/]"; a URL's scheme decides TLS."""
    if "://" not in endpoint:
        return endpoint.rstrip("/"), secure
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"S3 endpoint must be host:port or http(s)://host:port: {endpoint!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"S3 endpoint must not have a path: {endpoint!r}")
    return parts.netloc, parts.scheme == "https"


def _part_size(max_bytes: int | None) -> int:
    """The smallest part size (least memory) that can still hold max_bytes in 10,000 parts.

    Without a limit, 5 MiB parts cap an object at about 48 GiB.
    """
    if max_bytes is None:
        return MIN_PART_SIZE
    needed = math.ceil(max_bytes / MAX_MULTIPART_COUNT)
    return max(MIN_PART_SIZE, math.ceil(needed / MIN_PART_SIZE) * MIN_PART_SIZE)


def _written_at(headers: Any) -> datetime:
    """The server's time of the write, from its response, so no extra HEAD is needed."""
    for name in ("last-modified", "date"):
        value = headers.get(name) if headers is not None else None
        if value:
            try:
                return as_utc(email.utils.parsedate_to_datetime(value))
            except (TypeError, ValueError):
                continue
    return datetime.now(UTC)


def _attachment(name: str) -> str:
    """Content-Disposition for a download name: ASCII fallback plus RFC 6266 filename*."""
    fallback = "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\' else "_"
        for char in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
