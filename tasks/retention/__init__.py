"""log-retention: the redaction engine and rules, the retention planner, the deleter.

Public entry points: `engine.Redactor` (redact_text / redact_json), `stream.redact_stream`
(one file, bounded memory), `redact_io.redact_path` (folder, file, stdin, s3 prefix),
`job` (the steps: plan, redact, journal, delete, the manifest; `runner.run_retention` runs them without Prefect).
"""
