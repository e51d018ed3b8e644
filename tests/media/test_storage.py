"""The storage adapters against real backends: a directory and a SeaweedFS S3 server."""

from __future__ import annotations

import uuid

import pytest

from media.storage import LocalStorage, StorageError, check_key, from_url


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        storage = LocalStorage(tmp_path / "media")
    else:
        endpoint = request.getfixturevalue("seaweedfs")
        storage = from_url(f"s3://K:S@st{uuid.uuid4().hex[:10]}?endpoint_url={endpoint}")
    storage.ensure()  # what the release command does
    return storage


def test_roundtrip(storage, tmp_path):
    src = tmp_path / "f.bin"
    src.write_bytes(b"hello" * 1000)
    storage.put_file("originals/a/b.jpg", src, "image/jpeg")
    storage.put_bytes("renditions/1/x.jpg", b"abc", "image/jpeg")
    assert storage.get_bytes("originals/a/b.jpg") == b"hello" * 1000
    assert storage.size("renditions/1/x.jpg") == 3
    assert storage.exists("renditions/1/x.jpg")
    assert sorted(k for k, _ in storage.list("renditions/")) == ["renditions/1/x.jpg"]
    with storage.local_path("originals/a/b.jpg", suffix=".jpg") as path:
        assert path.read_bytes() == b"hello" * 1000
    storage.delete("renditions/1/x.jpg")
    assert not storage.exists("renditions/1/x.jpg")
    storage.delete("renditions/1/x.jpg")  # deleting twice is fine


def test_a_download_goes_where_it_is_told(storage, tmp_path):
    """The worker downloads into its spool (swept), not the machine's temp directory: the
    fault drill found S3 downloads a SIGKILLed worker left there."""
    storage.put_bytes("originals/a/c.jpg", b"xyz", "image/jpeg")
    spool = tmp_path / "spool"
    spool.mkdir()
    with storage.local_path("originals/a/c.jpg", suffix=".jpg", tmp_dir=spool) as path:
        assert path.read_bytes() == b"xyz"
        if storage.backend == "s3":
            assert path.parent.parent == spool
    assert list(spool.iterdir()) == []


def test_missing_is_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.get_bytes("originals/nope.jpg")
    with pytest.raises(FileNotFoundError):
        storage.size("originals/nope.jpg")
    with pytest.raises(FileNotFoundError), storage.local_path("originals/nope.jpg"):
        pass


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "A.jpg", "a b", "a\\b", "..", "%2e"])
def test_bad_keys_refused(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_s3_wrong_secret_is_a_plain_error(seaweedfs):
    bucket = f"st{uuid.uuid4().hex[:10]}"
    good = from_url(f"s3://K:S@{bucket}?endpoint_url={seaweedfs}")
    good.ensure()
    good.put_bytes("originals/x.jpg", b"x", "image/jpeg")
    bad = from_url(f"s3://K:wrong@{bucket}?endpoint_url={seaweedfs}&create=0")
    with pytest.raises(StorageError):
        bad.get_bytes("originals/x.jpg")


def test_construction_does_no_io(tmp_path):
    # A process must start while its object store is down: nothing is touched until used.
    LocalStorage(tmp_path / "not-yet")
    assert not (tmp_path / "not-yet").exists()
    s3 = from_url("s3://K:S@bucket?endpoint_url=http://127.0.0.1:1")
    assert s3.origin == "http://127.0.0.1:1"
    with pytest.raises(StorageError):
        s3.ensure()
