"""The policy approval chain: propose -> approve/reject -> apply, every step a signed bundle
(config: the `policy` section; chain: the records and their rules)."""
