"""Evidence store: signed, chained, Object-Locked report bundles (specs/evidence-bundle.md).

Modules: dsse (envelope/PAE), signer (key file, KMS), store (locked puts, S3/local reads),
chain (the per-job claim protocol), writer (publish_bundle), buckets (storage init),
verify (one bundle), verify_chain (a job's chain), verify_target (CLI targets),
bundles (list/download/share).
"""

from .buckets import ensure_buckets
from .chain import ChainPolicy
from .signer import KmsSigner, LocalSigner, load_signer
from .verify import Failure, Trust, verify_bundle
from .verify_chain import Report, verify_job
from .verify_target import verify_target
from .writer import PublishedBundle, publish_bundle

__all__ = [
    "ChainPolicy",
    "Failure",
    "KmsSigner",
    "LocalSigner",
    "PublishedBundle",
    "Report",
    "Trust",
    "ensure_buckets",
    "load_signer",
    "publish_bundle",
    "verify_bundle",
    "verify_job",
    "verify_target",
]
