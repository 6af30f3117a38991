"""The embedded S3 (moto's app served by waitress, tasks/common/embedded.py): keep-alive
connections, and nothing of what moto answers changed by the server in front of it."""

from __future__ import annotations

import http.client
import socket

import boto3
import pytest
from botocore.exceptions import ClientError

from tasks.common.embedded import DEMO_CREDENTIALS, EmbeddedS3
from tasks.common.s3 import s3_client
from tasks.common.settings import StorageSettings


@pytest.fixture
def client(s3_server, monkeypatch):
    for k, v in DEMO_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    return s3_client(StorageSettings(endpoint_url=s3_server.endpoint_url))


def test_one_connection_serves_many_requests(s3_server, client) -> None:
    """HTTP/1.1 keep-alive: consecutive requests reuse one connection (werkzeug's server
    closed it after every answer)."""
    client.create_bucket(Bucket="keepalive-one")
    client.put_object(Bucket="keepalive-one", Key="k", Body=b"v")
    host, port = "127.0.0.1", s3_server.port
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(3):
        conn.request("GET", "/keepalive-one/k", headers={"Authorization": _AUTH})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b"v"
        assert (resp.getheader("Connection") or "").lower() != "close"
    local = conn.sock.getsockname()
    conn.request("HEAD", "/keepalive-one/k", headers={"Authorization": _AUTH})
    resp = conn.getresponse()
    resp.read()
    assert conn.sock.getsockname() == local  # the same socket all along
    assert resp.getheader("Content-Length") == "1"
    conn.close()


_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def test_metadata_keys_come_back_as_written(client) -> None:
    """User metadata keeps its spelling: lowercase, and underscores (which waitress
    drops from requests and moto's handler keeps) survive the round trip."""
    client.create_bucket(Bucket="meta-names")
    meta = {"my_key": "1", "other-key": "2", "compliance-redacted": "engine"}
    client.put_object(Bucket="meta-names", Key="k", Body=b"x", Metadata=meta)
    assert client.head_object(Bucket="meta-names", Key="k")["Metadata"] == meta
    assert client.get_object(Bucket="meta-names", Key="k")["Metadata"] == meta


def test_keys_with_escapes_and_conditional_writes(client) -> None:
    """Raw paths reach moto (an encoded slash stays part of the key); IfNoneMatch="*"
    answers 412 on an existing key; versions and legal holds behave as on moto."""
    client.create_bucket(Bucket="raw-paths", ObjectLockEnabledForBucket=True)
    key = "a b/%2F/ü/+x"
    client.put_object(Bucket="raw-paths", Key=key, Body=b"1")
    assert [o["Key"] for o in client.list_objects_v2(Bucket="raw-paths")["Contents"]] == [key]
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket="raw-paths", Key=key, Body=b"2", IfNoneMatch="*")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    second = client.put_object(Bucket="raw-paths", Key=key, Body=b"3")["VersionId"]
    client.put_object_legal_hold(
        Bucket="raw-paths", Key=key, VersionId=second, LegalHold={"Status": "ON"}
    )
    with pytest.raises(ClientError) as err:
        client.delete_object(Bucket="raw-paths", Key=key, VersionId=second)
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    versions = client.list_object_versions(Bucket="raw-paths")["Versions"]
    assert len(versions) == 2


def test_stop_closes_open_connections_and_the_port(monkeypatch) -> None:
    """A client holding a kept-alive connection sees the outage at once after stop()."""
    for k, v in DEMO_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    server = EmbeddedS3().start()
    client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
    client.create_bucket(Bucket="outage")
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), 1).close()
    again = EmbeddedS3(port=server.port).start()  # same port, same (in-process) state
    try:
        assert "outage" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    finally:
        again.stop()


def test_an_empty_put_expecting_100_continue_is_answered(s3_server, monkeypatch) -> None:
    """botocore sends `Expect: 100-continue` with every PutObject body, empty ones too;
    waitress alone would send the 100 and then wait for a body that never comes."""
    for k, v in DEMO_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    settings = StorageSettings(endpoint_url=s3_server.endpoint_url)
    client = s3_client(settings, max_attempts=1, read_timeout=5)
    client.create_bucket(Bucket="empty-put", ObjectLockEnabledForBucket=True)
    client.put_object(Bucket="empty-put", Key="e", Body=b"")
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket="empty-put", Key="e", Body=b"", IfNoneMatch="*")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert client.get_object(Bucket="empty-put", Key="e")["Body"].read() == b""
