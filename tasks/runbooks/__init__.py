"""Runbooks as code: runbooks/<id>.md (front matter + prose), which findings they answer,
and drills recorded as signed evidence (catalog, drills)."""
