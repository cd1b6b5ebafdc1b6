"""The encryption codec: AES-256-GCM, the key id in the metadata, rotation, clear errors, and
its composition with the external payload store (encrypted before it is offloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from starter.service.encryption import (
    KEY_ID_METADATA,
    EncryptionCodec,
    UnknownEncryptionKeyError,
    new_key,
)
from starter.service.payload_storage import OFFLOAD_THRESHOLD_BYTES, data_converter

ADDRESS = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
KEY_1, KEY_2 = new_key("1"), new_key("2")


def clear(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


def stored_files(directory: Path) -> list[bytes]:
    return [path.read_bytes() for path in directory.glob("*.payload")]


async def test_round_trip_hides_the_content_and_names_the_key() -> None:
    codec = EncryptionCodec([KEY_1])
    [sealed] = await codec.encode([clear(ADDRESS)])
    assert sealed.metadata[KEY_ID_METADATA] == b"1"
    assert ADDRESS.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [clear(ADDRESS)]


async def test_rotation_new_writes_use_the_first_key_old_ones_decode_with_theirs() -> None:
    [old] = await EncryptionCodec([KEY_2]).encode([clear("written under key 2")])
    rotated = EncryptionCodec([KEY_1, KEY_2])
    assert await rotated.decode([old]) == [clear("written under key 2")]
    [new] = await rotated.encode([clear("new")])
    assert new.metadata[KEY_ID_METADATA] == b"1"


async def test_an_unknown_key_id_is_a_clear_error_naming_it() -> None:
    [sealed] = await EncryptionCodec([new_key("retired-2025")]).encode([clear(ADDRESS)])
    with pytest.raises(UnknownEncryptionKeyError, match="key id 'retired-2025'"):
        await EncryptionCodec([KEY_1, KEY_2]).decode([sealed])


async def test_a_relabelled_or_tampered_payload_does_not_decode() -> None:
    codec = EncryptionCodec([KEY_1, KEY_2])
    [sealed] = await EncryptionCodec([KEY_1]).encode([clear(ADDRESS)])
    sealed.metadata[KEY_ID_METADATA] = b"2"
    with pytest.raises(ValueError, match="does not decrypt with that key"):
        await codec.decode([sealed])


async def test_clear_payloads_from_before_encryption_pass_through() -> None:
    assert await EncryptionCodec([KEY_1]).decode([clear("old")]) == [clear("old")]


async def test_what_goes_to_the_payload_store_is_encrypted(tmp_path: Path) -> None:
    converter: DataConverter = data_converter(tmp_path, codec=EncryptionCodec([KEY_1]))
    big = [f"{ADDRESS}-{index}" for index in range(OFFLOAD_THRESHOLD_BYTES // 30)]
    [reference] = await converter.encode([big])
    stored = stored_files(tmp_path)
    assert len(stored) == 1, "the list went to the store"
    assert ADDRESS.encode() not in stored[0]
    assert ADDRESS.encode() not in reference.SerializeToString()
    assert await converter.decode([reference], [list[str]]) == [big]
    without_key = data_converter(tmp_path)
    with pytest.raises(Exception, match="binary/encrypted"):
        await without_key.decode([reference], [list[str]])
