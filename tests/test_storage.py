"""The one storage layer (tasks/common/storage.py): the same test body against a local folder
and against moto's S3 server over real HTTP, so both backends answer alike — listing order
and paging, bounded and version-pinned reads, conditional puts, one not-found rule, and
hostile keys refused before any I/O."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tasks.common.errors import InputError, StorageError
from tasks.common.s3 import s3_client
from tasks.common.safepath import UnsafeKeyError
from tasks.common.storage import (
    LocalStore,
    S3Store,
    Store,
    is_not_found,
    open_store,
)

TREE = {
    "a/b.txt": b"bee",
    "a/c/d.txt": b"dee",
    "a/c-e.txt": b"c-e",  # "-" sorts before "/": S3's order puts it before a/c/d.txt
    "a/z.txt": b"zed",
    "b.txt": b"",
}
HOSTILE = [
    "",
    "../escape.txt",
    "/etc/passwd",
    "a/../../escape.txt",
    "a//b.txt",
    "a/./b.txt",
    "a\\..\\b.txt",
    "a/b\x00.txt",
    "a/\nb.txt",
    "x" * 1100,
]


class Backend:
    """A store plus a way to plant an object in it from outside the layer."""

    def __init__(self, store: Store, plant) -> None:
        self.store, self.plant = store, plant


def _s3_backend(s3) -> Backend:
    bucket = f"store-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def plant_s3(key: str, data: bytes) -> None:
        s3.put_object(Bucket=bucket, Key="pre/" + key, Body=data)

    s3.put_object(Bucket=bucket, Key="outside.txt", Body=b"not under the prefix")
    return Backend(S3Store(s3, bucket, "pre", page_size=2), plant_s3)


@pytest.fixture
def s3_backend(s3) -> Backend:
    return _s3_backend(s3)


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path) -> Backend:
    if request.param == "s3":
        return _s3_backend(request.getfixturevalue("s3"))
    root = tmp_path / "tree"
    root.mkdir()

    def plant_local(key: str, data: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return Backend(LocalStore(root), plant_local)


def _fill(b: Backend) -> None:
    for key, data in TREE.items():
        b.plant(key, data)


def test_listing_is_lexicographic_with_sizes_and_keys_relative_to_the_root(backend):
    _fill(backend)
    store = backend.store
    assert list(store.list()) == sorted((k, len(v)) for k, v in TREE.items())
    assert list(store.keys("a/")) == ["a/b.txt", "a/c-e.txt", "a/c/d.txt", "a/z.txt"]
    assert list(store.keys("a/c")) == ["a/c-e.txt", "a/c/d.txt"]  # a prefix, not a folder
    assert list(store.keys("nothing/")) == []
    assert store.children("a/") == (["c"], {"b.txt": 3, "c-e.txt": 3, "z.txt": 3})
    assert store.children("") == (["a"], {"b.txt": 0})
    assert store.children("missing/") == ([], {})


def test_s3_listing_is_paged(s3_backend, s3):
    backend = s3_backend
    _fill(backend)
    calls: list[int] = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: calls.append(1))
    assert len(list(backend.store.keys())) == len(TREE)
    assert len(calls) == 3  # five objects, pages of two


def test_reads_whole_bounded_and_absent(backend):
    _fill(backend)
    store = backend.store
    assert store.read("a/b.txt") == b"bee"
    assert store.read("a/b.txt", limit=1) == b"be"  # limit+1 bytes: "over the cap" is visible
    assert store.read("a/b.txt", limit=10) == b"bee"
    assert store.read("b.txt", limit=5) == b""  # an empty object under a ranged read
    assert store.read("b.txt") == b""
    assert store.read("a/missing.txt") is None
    assert store.read("a/c") is None  # a folder is not an object
    with store.open("a/z.txt") as fh:
        assert fh.read() == b"zed"
    with pytest.raises(StorageError, match="a/missing.txt"):
        store.open("a/missing.txt")


def test_conditional_put_creates_once_and_refuses_other_bytes(backend):
    store = backend.store
    assert store.put_if_absent("p/q.json", b"{}", "application/json") is True
    assert store.put_if_absent("p/q.json", b"{}", "application/json") is False  # a retry
    with pytest.raises(StorageError, match="different content") as exc:
        store.put_if_absent("p/q.json", b"[]", "application/json")
    assert "\n" not in str(exc.value)
    assert store.read("p/q.json") == b"{}"


@pytest.mark.parametrize("key", HOSTILE, ids=repr)
def test_hostile_keys_are_refused_before_any_io(backend, key):
    store = backend.store
    with pytest.raises(UnsafeKeyError) as exc:
        store.read(key)
    assert "\n" not in str(exc.value)
    with pytest.raises(UnsafeKeyError):
        store.open(key)
    with pytest.raises(UnsafeKeyError):
        store.put_if_absent(key, b"x")
    if key and "/" not in key.rstrip("/")[:1]:
        with pytest.raises(UnsafeKeyError):
            list(store.list(key + "/"))


def test_a_non_nfc_key_is_read_but_never_written(backend):
    nfd = "caf\u0065\u0301.txt"
    backend.plant(nfd, b"mac")
    assert backend.store.read(nfd) == b"mac"
    with pytest.raises(UnsafeKeyError, match="NFC"):
        backend.store.put_if_absent("new-" + nfd, b"x")


def test_versions_pin_reads_to_the_first_version(backend):
    store = backend.store
    backend.plant("r/report.json", b"original")
    backend.plant("r/report.json", b"tampered")
    listing = store.versions("r/")
    if not store.online:
        assert listing == {}  # a folder has no history: what is there is what is read
        assert store.read("r/report.json") == b"tampered"
        return
    versions = listing["r/report.json"]
    assert len(versions) == 2 and not any(v.is_delete_marker for v in versions)
    assert store.read("r/report.json") == b"original"  # pinned once the listing saw it
    assert store.read("r/report.json", limit=3) == b"orig"
    assert store.read("r/report.json", version_id=versions[0].version_id) == b"tampered"


def test_the_prefix_confines_an_s3_store(s3_backend):
    backend = s3_backend
    _fill(backend)
    assert "outside.txt" not in set(backend.store.keys())
    assert backend.store.read("outside.txt") is None
    assert backend.store.uri("a/b.txt").endswith("/pre/a/b.txt")


def test_a_planted_traversal_key_in_s3_is_listed_verbatim_but_never_read(s3, buckets):
    bucket = buckets.data_bucket
    s3.put_object(Bucket=bucket, Key="pre/../../escaped.txt", Body=b"x")
    store = S3Store(s3, bucket, "pre/")
    assert list(store.keys()) == ["../../escaped.txt"]
    with pytest.raises(UnsafeKeyError, match="escaped.txt"):
        store.read("../../escaped.txt")


def test_a_local_symlink_is_neither_listed_nor_followed(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"private")
    root = tmp_path / "tree"
    (root / "a").mkdir(parents=True)
    (root / "a" / "real.txt").write_bytes(b"ok")
    (root / "a" / "link.txt").symlink_to(outside)
    (root / "b").symlink_to(tmp_path)  # a folder symlink leading out
    store = LocalStore(root)
    assert list(store.keys()) == ["a/real.txt"]
    assert store.read("a/link.txt") is None
    assert store.read("b/secret.txt") is None
    assert store.children("") == (["a"], {})
    with pytest.raises(StorageError, match="symlink"):
        store.open("a/link.txt")
    with pytest.raises(UnsafeKeyError):
        store.put_if_absent("b/new.txt", b"x")  # a write never lands through it
    assert not (tmp_path / "new.txt").exists()


def _answer_gets_with(client, status: int, code: str) -> None:
    class Raw:
        def stream(self, *_a, **_k):
            yield f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()

    def before_send(request, **_kwargs):
        return AWSResponse(request.url, status, {}, Raw())

    client.meta.events.register("before-send.s3.GetObject", before_send)


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "AccessDenied"), (400, "InvalidArgument"), (404, "NoSuchBucket"), (500, "Oops")],
)
def test_only_not_found_reads_as_absent(s3, buckets, status, code):
    """A denied, malformed or bucket-less read says nothing about the object."""
    own = s3_client(buckets, max_attempts=1)  # its own client: the hook stays on it
    _answer_gets_with(own, status, code)
    with pytest.raises(StorageError) as exc:
        S3Store(own, buckets.data_bucket).read("k.json")
    assert code in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("status", "code", "absent"),
    [
        (404, "NoSuchKey", True),
        (404, "NoSuchVersion", True),
        (404, "404", True),  # a HEAD has no body: botocore names the status
        (404, "", True),
        (404, "NoSuchBucket", False),
        (403, "403", False),
        (403, "AccessDenied", False),
        (400, "400", False),
        (400, "InvalidArgument", False),
        (500, "InternalError", False),
    ],
)
def test_the_not_found_rule(status, code, absent):
    exc = ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )
    assert is_not_found(exc) is absent


def test_open_store_picks_the_backend(tmp_path, s3):
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    store = open_store("s3://bkt/raw/roo", s3)
    assert isinstance(store, S3Store) and store.prefix == "raw/roo/" and store.name == "roo"
    with pytest.raises(InputError, match="s3 client"):
        open_store("s3://bkt/x")
    with pytest.raises(InputError, match="no such file"):
        open_store(str(tmp_path / "absent"), must_exist=True)
    assert LocalStore(Path("x") / "roo").name == "roo"


def _readers():
    from datetime import date

    from tasks.budget.models import profile_models
    from tasks.budget.reader import read_gate
    from tasks.common.alerts import load_state
    from tasks.quality.storage import read_history, read_roster

    return {
        "alert state": (lambda c, b: load_state(c, b, "cost-budget"), {"version", "sent"}),
        "budget gate": (lambda c, b: read_gate(c, b, date(2026, 11, 20)), None),
        "quality roster": (lambda c, b: read_roster(c, b)[0], None),
        "quality history": (read_history, "any"),
        "budget profiles": (lambda c, b: profile_models(c, b, ["ann"]), {}),
    }


@pytest.mark.parametrize("reader", list(_readers()))
def test_every_reader_treats_absent_as_absent_and_denied_as_an_error(s3, buckets, reader):
    """The callers that used to catch NoSuchKey (or everything) follow the one rule."""
    read, absent = _readers()[reader]
    got = read(s3, buckets.data_bucket)  # nothing there: each reader's "absent" answer
    if isinstance(absent, set):
        assert absent <= set(got)
    elif absent != "any":
        assert got == absent
    denied = s3_client(buckets, max_attempts=1)
    _answer_gets_with(denied, 403, "AccessDenied")
    with pytest.raises(StorageError, match="AccessDenied") as exc:
        read(denied, buckets.data_bucket)
    assert "\n" not in str(exc.value)
