"""The one storage layer: an S3 bucket (optionally under a prefix) or a local folder, read
and written through the same relative keys, so every job, the verifier and the tests see one
interface.

- One not-found rule (`is_not_found`): only a 404 / NoSuchKey / NoSuchVersion / NotFound
  answer means "absent". A 400, 403, 5xx or a missing *bucket* says nothing about the object
  and is raised (one line), never read as "not there".
- Reads are bounded on demand (`limit`: at most limit+1 bytes, a ranged GET on S3) and may
  be pinned to a version (`version_id`, or the first version once `versions()` saw the key).
- Keys from outside are hostile: a key that could climb out of the root (``..``, absolute,
  backslash, control characters, empty segments) is refused before any I/O, on S3 as locally;
  a local read never follows a symlink.
- Listings are paginated (memory does not grow with the listing); a spooled file is
  written without being read whole (puts.py).
"""

from .objects import (
    PAGE_SIZE,
    ObjectVersion,
    get_bytes,
    get_or_none,
    iter_objects,
    iter_version_pages,
    iter_versions,
)
from .puts import Body, body_sha256, put_locked, put_once
from .rules import (
    NOT_FOUND_CODES,
    check_key,
    error_code,
    http_status,
    is_bucket_missing,
    is_not_found,
    is_precondition_failed,
)
from .spool import SpooledFile
from .stores import LocalStore, S3Store, Store, open_store

__all__ = [
    "Body",
    "SpooledFile",
    "body_sha256",
    "NOT_FOUND_CODES",
    "PAGE_SIZE",
    "LocalStore",
    "ObjectVersion",
    "S3Store",
    "Store",
    "check_key",
    "error_code",
    "get_bytes",
    "get_or_none",
    "http_status",
    "is_bucket_missing",
    "is_not_found",
    "is_precondition_failed",
    "iter_objects",
    "iter_version_pages",
    "iter_versions",
    "open_store",
    "put_locked",
    "put_once",
]
