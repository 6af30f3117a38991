"""Chain claims are hints, authenticated by the envelope they name (issue 13, item 4).

The attacker holds the writer credentials but not the signing key: it can put any object
under reports/ (a claim, a whole bundle signed with its own key), never sign as the job.
All of this runs on moto over HTTP; moto enforces IfNoneMatch, so a lost race is a 412.
tests/evidence/test_rgw.py repeats the forged-claim case on Ceph RGW, where a lost race
is a second version of the claim key instead.
"""

from __future__ import annotations

import json
import time

import pytest

from tasks.common.errors import StorageError
from tasks.evidence import ChainPolicy
from tasks.evidence.chain import chain_prefix, claim_key
from tasks.evidence.store import LocalStore, S3Store
from tasks.evidence.verify_chain import verify_job

from .chainkit import (
    JOB,
    claim_body,
    client_for,
    fresh_process,
    make_signer,
    new_lock_bucket,
    plant,
    publish_day,
    trust_of,
    without_seq,
)

MAX_CLAIM_PUTS = 40  # far above what a bounded publisher needs; a spinning one hits it


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return make_signer(tmp_path_factory.mktemp("job-key"))


@pytest.fixture
def world(s3_server, signer):
    """A bucket with a 3-link chain; a client whose claim PUTs are counted and capped."""
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    bundles = [publish_day(client, bucket, signer, i) for i in (1, 2, 3)]
    puts = {"claims": 0}

    def count(params, **_kw):
        if params.get("Key", "").startswith(chain_prefix(JOB)):
            puts["claims"] += 1
            if puts["claims"] > MAX_CLAIM_PUTS:
                raise RuntimeError("publisher keeps re-claiming: a busy loop")

    client.meta.events.register("before-parameter-build.s3.PutObject", count)
    return client, bucket, bundles, puts


def link(bundle) -> dict:
    return {"uri": bundle.envelope_uri, "digest": {"sha256": bundle.envelope_sha256}}


def chain_checks(client, bucket, signer) -> list[tuple[str, str]]:
    report = verify_job(S3Store(client, bucket), JOB, trust_of(signer), retention_days=1)
    return sorted((f.object.rsplit("/", 1)[-1], f.check) for f in report.failures)


def test_non_canonical_claim_key_neither_spins_nor_counts(world, signer):
    """`_chain/99` (not 12 digits) sorted after every real claim as a string: the next
    publishes linked to whatever it named, then spun on 412s without sleeping."""
    client, bucket, bundles, puts = world
    plant(
        client,
        bucket,
        chain_prefix(JOB) + "99",
        claim_body(99, bundles[0].prefix, bundles[0].previous),
    )
    puts["claims"] = 0
    fourth = publish_day(client, bucket, signer, 4)
    fifth = publish_day(client, bucket, signer, 5)
    assert (fourth.seq, fifth.seq) == (3, 4)  # numbers, not strings: 99 is not a claim
    assert fourth.previous == link(bundles[2]) and fifth.previous == link(fourth)
    assert puts["claims"] == 2
    # The verifier reports the planted key; the chain itself is whole.
    assert chain_checks(client, bucket, signer) == [("99", "claim")]


@pytest.mark.parametrize("lie", ["copy_of_claim_0", "previous_of_the_head"])
def test_forged_next_claim_naming_an_old_bundle_neither_forks_nor_stalls(world, signer, lie):
    """Today the next publish links to the old bundle the forged claim names: a fork,
    permanent because the forged claim is Object-Locked like the real ones."""
    client, bucket, bundles, _ = world
    old = bundles[0] if lie == "copy_of_claim_0" else bundles[1]
    previous = old.previous if lie == "copy_of_claim_0" else link(bundles[2])
    plant(client, bucket, claim_key(JOB, 3), claim_body(3, old.prefix, previous))
    t0 = time.monotonic()
    fourth = publish_day(client, bucket, signer, 4)
    assert time.monotonic() - t0 < 10  # no wait for a lease: the claim is simply not one
    assert fourth.previous == link(bundles[2])
    assert fourth.seq == 4  # 3 is taken (by the forgery), so the next free link
    assert chain_checks(client, bucket, signer) == [("000000000003", "claim")]


def test_bundle_signed_with_the_attackers_own_key_is_not_linked_to(world, signer, tmp_path):
    """The attacker publishes a whole bundle (claim + envelope) with its own key."""
    client, bucket, bundles, _ = world
    rogue = publish_day(client, bucket, make_signer(tmp_path / "rogue"), 4)
    assert rogue.seq == 3
    fifth = publish_day(client, bucket, signer, 5)
    assert fifth.previous == link(bundles[2]) and fifth.seq == 4
    checks = {c for _o, c in chain_checks(client, bucket, signer)}
    assert "fork" not in checks and "unknown_key" in checks


def test_dead_forged_claim_lends_nothing_to_the_link_past_it(world, signer):
    """A claim naming a fresh prefix looks like a live publisher: it is waited for (at most
    the lease), then linked past. Today the link past copies the dead claim's `previous`,
    so a forged one naming an old bundle forks the chain."""
    client, bucket, bundles, _ = world
    fresh = f"reports/{JOB}/2026/11/04/20261104T060000Z-0badc0de/"
    plant(client, bucket, fresh + "report.json", b"{}")
    plant(client, bucket, claim_key(JOB, 3), claim_body(3, fresh, link(bundles[0])))
    policy = ChainPolicy(lease_seconds=1.5, fence_seconds=1.0, poll_initial=0.05)
    t0 = time.monotonic()
    fourth = publish_day(client, bucket, signer, 4, policy=policy)
    assert 1.0 <= time.monotonic() - t0 < 10
    assert fourth.previous == link(bundles[2]) and fourth.seq == 4
    assert "fork" not in {c for _o, c in chain_checks(client, bucket, signer)}


def test_publisher_losing_every_race_gives_up_with_one_line(s3_server, signer):
    """Every claim PUT meets a rival that landed just before it. The publisher backs off
    (jittered) a bounded number of times, then fails with one line."""
    client = client_for(s3_server)
    rival_client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    puts = {"claims": 0}

    def rival(params, **_kw):
        key = params.get("Key", "")
        if not key.startswith(chain_prefix(JOB)):
            return
        puts["claims"] += 1
        if puts["claims"] > MAX_CLAIM_PUTS:
            raise RuntimeError("publisher keeps re-claiming: no bound")
        seq = int(key.rsplit("/", 1)[1])
        prefix = f"reports/{JOB}/2026/11/02/rival-{seq:08d}/"
        rival_client.put_object(Bucket=bucket, Key=prefix + "report.json", Body=b"{}")
        rival_client.put_object(
            Bucket=bucket, Key=key, Body=claim_body(seq, prefix, None), IfNoneMatch="*"
        )

    client.meta.events.register("before-parameter-build.s3.PutObject", rival)
    policy = ChainPolicy(lease_seconds=0.05, fence_seconds=0.01, poll_initial=0.01, poll_max=0.02)
    t0 = time.monotonic()
    with pytest.raises(StorageError) as exc:
        publish_day(client, bucket, signer, 1, policy=policy)
    elapsed = time.monotonic() - t0
    message = str(exc.value)
    assert "\n" not in message and JOB in message and "race" in message
    assert puts["claims"] <= policy.max_races
    assert elapsed >= 0.05  # it slept between attempts


def test_later_versions_over_the_head_claim_and_envelope_change_nothing(world, signer):
    """Where IfNoneMatch holds (moto, AWS) the writer reads the latest version of a claim;
    a plain PutObject (the writer role may) still makes a later version over the head
    claim or the head envelope. The writer then reads the first versions and links to
    the committed envelope."""
    client, bucket, bundles, _ = world
    plant(client, bucket, claim_key(JOB, 2), claim_body(2, bundles[0].prefix, None))
    plant(client, bucket, bundles[2].prefix + "attestation.dsse.json", b'{"payload": "x"}')
    fourth = publish_day(client, bucket, signer, 4)
    assert fourth.previous == link(bundles[2]) and fourth.seq == 3
    checks = {c for _o, c in chain_checks(client, bucket, signer)}
    assert checks == {"versions"}  # both later versions reported, nothing else disturbed


def test_planted_claim_at_the_largest_seq_does_not_exhaust_the_chain(world, signer):
    """`_chain/999999999999` is canonical but counts for nothing: the next link is the
    smallest free seq above the last claim that counts, not above every key."""
    client, bucket, bundles, _ = world
    plant(client, bucket, claim_key(JOB, 10**12 - 1), claim_body(10**12 - 1, "x/", None))
    fourth = publish_day(client, bucket, signer, 4)
    assert fourth.seq == 3 and fourth.previous == link(bundles[2])


def test_claim_naming_a_prefix_without_files_does_not_stall(world, signer):
    """A publisher writes its files before its claim, so a fresh claim naming an empty
    prefix is nobody's run in progress: no wait for its lease (900 s by default)."""
    client, bucket, bundles, _ = world
    empty = f"reports/{JOB}/2026/11/04/20261104T060000Z-e0e0e0e0/"
    plant(client, bucket, claim_key(JOB, 3), claim_body(3, empty, link(bundles[2])))
    t0 = time.monotonic()
    fourth = publish_day(client, bucket, signer, 4)
    assert time.monotonic() - t0 < 10
    assert fourth.seq == 4 and fourth.previous == link(bundles[2])


@pytest.mark.parametrize(
    "prefix", ["reports/j/\ud800/", "../../etc/", "reports/other-job/2026/11/01/r1/", ""]
)
def test_claim_naming_an_off_layout_prefix_neither_crashes_nor_counts(world, signer, prefix):
    """A claim whose prefix is no bundle prefix of its job (a lone surrogate made the
    writer's GET raise UnicodeEncodeError: every later publish crashed) is ignored at once."""
    client, bucket, bundles, _ = world
    body = json.dumps({"seq": 3, "job": JOB, "run_id": "x", "prefix": prefix,
                       "previous": None, "claim_id": "c"}).encode()  # fmt: skip
    plant(client, bucket, claim_key(JOB, 3), body)
    t0 = time.monotonic()
    fourth = publish_day(client, bucket, signer, 4)
    assert time.monotonic() - t0 < 10
    assert fourth.previous == link(bundles[2])


def test_a_huge_planted_envelope_is_not_downloaded(world, signer):
    """A claim naming a prefix whose 'envelope' is 3 MiB: read capped at the envelope
    limit, so it is no link and no memory is spent on it."""
    client, bucket, bundles, _ = world
    fake = bundles[2].prefix.replace(
        bundles[2].prefix.rstrip("/").rsplit("/", 1)[1], "20261199T000000Z-deadbeef"
    )
    plant(client, bucket, fake + "attestation.dsse.json", b"[" * (3 << 20))
    plant(client, bucket, claim_key(JOB, 3), claim_body(3, fake, link(bundles[2])))
    fourth = publish_day(client, bucket, signer, 4)
    assert fourth.previous == link(bundles[2])


@pytest.mark.parametrize(("copied", "refresh"), [(0, False), (1, False), (1, True)])
def test_copy_of_an_old_claim_without_seq_neither_forks_nor_counts(
    s3_server, signer, monkeypatch, copied, refresh
):
    """Bundles signed before claims carried `seq` are tied to their claim by nothing the
    key signed. The attacker copies such a bundle's claim record to the next free claim
    number (its seq edited to match the key): the envelope still verifies and agrees on
    `previous`, so the writer took it as the head and forked the chain. A claim written
    after the envelope it names is a copy: it does not count, for writer or verifier.
    `refresh`: the attacker also puts the old envelope's bytes again (a later version with
    a fresh LastModified); the claim is judged against the committed (first) version."""
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    with monkeypatch.context() as old_writer:
        without_seq(old_writer)
        legacy = [publish_day(client, bucket, signer, i) for i in (1, 2)]
    assert all("seq" not in b.statement["predicate"] for b in legacy)
    third = publish_day(client, bucket, signer, 3)  # today's writer: seq in the statement
    assert third.previous == link(legacy[1]) and third.seq == 2
    time.sleep(2.2)  # a later copy: past whole seconds and the 1 s clock slack
    original = client.get_object(Bucket=bucket, Key=claim_key(JOB, copied))["Body"].read()
    record = json.loads(original)
    record["seq"] = 3
    plant(client, bucket, claim_key(JOB, 3), json.dumps(record, sort_keys=True).encode())
    named = legacy[copied].prefix + "attestation.dsse.json"
    if refresh:
        time.sleep(2.2)
        plant(client, bucket, named, client.get_object(Bucket=bucket, Key=named)["Body"].read())
    fourth = publish_day(client, bucket, signer, 4)
    assert fourth.previous == link(third)  # not a link to the copied claim's old bundle
    assert fourth.seq == 4
    failures = verify_job(S3Store(client, bucket), JOB, trust_of(signer), retention_days=1)
    got = sorted((f.object.rsplit("/", 1)[-1], f.check) for f in failures.failures)
    assert got == [("000000000003", "claim")] + ([("attestation.dsse.json", "versions")] if refresh else [])  # fmt: skip
    (line,) = [f.line() for f in failures.failures if f.check == "claim"]
    assert "written after the envelope" in line


def test_a_thousand_later_versions_over_the_head_claim_do_not_hide_the_first(
    world, signer, s3_server, monkeypatch
):
    """The writer reads a claim key's first version when the latest does not count. Its
    versions lister read one page of ListObjectVersions (1,000 entries, newest first): with
    1,000 planted versions over the head claim the real first version was not on it, the
    oldest planted one was taken as the claim, the head was skipped and the next publish
    forked the chain. 1,000 planted versions + the committed one = 1,001 listed: the
    first version is on a second page."""
    from concurrent.futures import ThreadPoolExecutor

    client, bucket, bundles, _ = world
    head = claim_key(JOB, 2)
    junk = claim_body(2, bundles[0].prefix, None)
    attacker = client_for(s3_server)  # its PUTs are not the publisher's (world counts those)

    def count() -> int:
        pages = attacker.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=head)
        return sum(len(page.get("Versions", [])) for page in pages)

    missing = 1000
    while missing > 0:  # moto loses a few versions of concurrent PUTs to one key: top up
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _i: plant(attacker, bucket, head, junk), range(missing)))
        missing = 1001 - count()
    fresh_process(monkeypatch)  # the publish of the next day, in a new process
    fourth = publish_day(client, bucket, signer, 4)
    assert fourth.previous == link(bundles[2]) and fourth.seq == 3


def test_offline_a_claim_tied_neither_by_seq_nor_by_time_does_not_count(
    s3_server, signer, monkeypatch, tmp_path
):
    """The class of the copy attack: a downloaded tree has no server times, so a claim for
    a bundle signed before `seq` cannot be told from a copy there. It does not count and is
    reported (online the same chain verifies); a bundle with `seq` is tied by it offline."""
    from tests.evidence.helpers import download_all

    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    with monkeypatch.context() as old_writer:
        without_seq(old_writer)
        legacy = publish_day(client, bucket, signer, 1)
    publish_day(client, bucket, signer, 2)
    assert verify_job(S3Store(client, bucket), JOB, trust_of(signer), retention_days=1).ok
    tree = download_all(client, bucket, tmp_path / "tree")
    report = verify_job(LocalStore(tree), JOB, trust_of(signer))
    got = sorted((f.object.rsplit("/", 1)[-1], f.check, f.message) for f in report.failures)
    assert got == [
        (
            "000000000000",
            "claim",
            "claim 0 does not count: no seq in the envelope and no server time to tie them",
        ),  # fmt: skip
        ("attestation.dsse.json", "claim", "no chain claim that counts names this bundle"),
    ]
    assert report.failures[-1].object.endswith(legacy.prefix + "attestation.dsse.json")
