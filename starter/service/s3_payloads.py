"""The S3 payload store (`PAYOUTS_PAYLOAD_STORE=s3://bucket/prefix`): the SDK's `S3StorageDriver`
over a boto3 client, for workers and clients on several machines.

Endpoint, region and credentials come from boto3's usual sources (AWS_ENDPOINT_URL,
AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance
roles), so any S3-compatible store works. boto3 blocks, so each call runs in a thread; its client
is thread-safe and made on first use, in whichever event loop the SDK calls from.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from temporalio.contrib.aws.s3driver import S3StorageDriver, S3StorageDriverClient

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PAYLOAD_STORE_VARIABLE = "PAYOUTS_PAYLOAD_STORE"
# S3's bucket naming rules, loosely: 3-63 of lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class PayloadStoreError(ValueError):
    """PAYOUTS_PAYLOAD_STORE cannot be used; the message is one line naming the variable."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str = ""  # prepended to every object key ("" or ending in "/")

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def s3_location(value: str) -> S3Location:
    """`s3://bucket` or `s3://bucket/prefix`; PayloadStoreError otherwise."""
    scheme, sep, rest = value.strip().partition("://")
    if not sep or scheme.lower() != "s3":
        raise PayloadStoreError(
            f"{PAYLOAD_STORE_VARIABLE}: unknown store {value!r}: expected s3://bucket/prefix,"
            " or leave it unset for the local directory PAYOUTS_PAYLOAD_DIR"
        )
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise PayloadStoreError(
            f"{PAYLOAD_STORE_VARIABLE}: {bucket!r} is not an S3 bucket name (in {value!r})"
        )
    prefix = prefix.strip("/")
    return S3Location(bucket=bucket, prefix=f"{prefix}/" if prefix else "")


class Boto3S3Client(S3StorageDriverClient):
    """`S3StorageDriverClient` over boto3, every key under the location's prefix."""

    def __init__(self, location: S3Location, client: S3Client | None = None) -> None:
        self._prefix = location.prefix
        self._client = client
        self._lock = threading.Lock()

    def _s3(self) -> S3Client:
        with self._lock:
            if self._client is None:
                import boto3  # only where S3 is used: boto3 costs every CLI start 0.15 s

                self._client = boto3.client("s3")
            return self._client

    def describe(self) -> Mapping[str, str]:
        client = self._s3()
        return {"endpoint": client.meta.endpoint_url, "region": client.meta.region_name or ""}

    async def put_object(self, *, bucket: str, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, bucket, self._prefix + key, data)

    async def object_exists(self, *, bucket: str, key: str) -> bool:
        return await asyncio.to_thread(self._exists, bucket, self._prefix + key)

    async def get_object(self, *, bucket: str, key: str) -> bytes:
        return await asyncio.to_thread(self._get, bucket, self._prefix + key)

    def _put(self, bucket: str, key: str, data: bytes) -> None:
        self._s3().put_object(Bucket=bucket, Key=key, Body=data)

    def _exists(self, bucket: str, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3().head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            response: Any = error.response
            if str(response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _get(self, bucket: str, key: str) -> bytes:
        body = self._s3().get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return body.read()
        finally:
            body.close()


def s3_driver(location: S3Location) -> S3StorageDriver:
    return S3StorageDriver(client=Boto3S3Client(location), bucket=location.bucket)
