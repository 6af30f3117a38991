"""The rules every storage call follows: what "not found" means, and which keys are safe.

Only a 404 / NoSuchKey / NoSuchVersion / NotFound answer means "absent". A 400, 403, 5xx
or a missing *bucket* says nothing about the object and is raised (one line), never read
as "not there". A key that could climb out of a root is refused before any I/O.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from tasks.common.safepath import UnsafeKeyError, key_problem

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NotFound", "404"})


# --- the error rules -------------------------------------------------------------------


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_not_found(exc: ClientError) -> bool:
    """True only when S3 said the object (or version) is absent.

    A missing bucket is a configuration error, not an absent object; 400/403 (a bad version
    id, a denied read) say nothing about existence.
    """
    code = error_code(exc)
    if code == "NoSuchBucket" or http_status(exc) in (400, 403):
        return False
    return code in NOT_FOUND_CODES or (http_status(exc) == 404 and not code)


def is_bucket_missing(exc: ClientError) -> bool:
    """A HEAD on a bucket answers a bare 404; other calls name NoSuchBucket."""
    return error_code(exc) in {"NoSuchBucket", "404", "NotFound"}


def is_precondition_failed(exc: ClientError) -> bool:
    return http_status(exc) == 412 or error_code(exc) in {"PreconditionFailed", "412"}


def check_key(key: str) -> str:
    """`key` when it cannot climb out of a root; UnsafeKeyError (one line) otherwise.

    Non-NFC spellings are allowed for reads (a Mac-written name is still a name); writes go
    through safe_join / key_problem, which refuse them too.
    """
    problem = key_problem(key)
    if problem and problem != "key is not Unicode NFC":
        raise UnsafeKeyError(f"{key[:200]!r}: unsafe object key ({problem})")
    return key


def check_prefix(prefix: str) -> str:
    if prefix:
        check_key(prefix.rstrip("/") or "/")
    return prefix
