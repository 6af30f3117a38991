"""policy-drift: each user's settings and behaviour against the approved policy."""
