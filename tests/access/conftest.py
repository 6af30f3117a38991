"""IAM over real HTTP on the session's moto server, isolated per test.

moto keeps IAM per account, so each test gets a fresh random account (credentials from
STS AssumeRole) instead of resetting moto, which would wipe every test's buckets too.
"""

from __future__ import annotations

import random

import boto3
import pytest

from tasks.access.iam import iam_client_config


@pytest.fixture
def iam(s3_server):
    account = f"{random.randrange(10**11, 10**12)}"
    sts = boto3.client("sts", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/access-review-test", RoleSessionName="review"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )
    client = session.client("iam", endpoint_url=s3_server.endpoint_url, config=iam_client_config())
    client.account_id = account
    return client


@pytest.fixture
def default_account_iam(s3_server):
    """The account the environment's credentials map to (flows build their own clients).

    Only that account's IAM state is cleared (moto server runs in this process).
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    def clear() -> None:
        for backend in iam_backends[DEFAULT_ACCOUNT_ID].values():
            backend.reset()

    clear()
    yield boto3.client(
        "iam",
        endpoint_url=s3_server.endpoint_url,
        region_name="us-east-1",
        config=iam_client_config(),
    )
    clear()
