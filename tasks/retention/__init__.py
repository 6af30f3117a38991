"""log-retention: the redaction engine and rules, the retention planner, the deleter.

Public entry points: `engine.Redactor` (redact_text / redact_json), `stream.redact_stream`
(one file, bounded memory), `redact_io.redact_path` (folder, file, stdin, s3 prefix),
`runner.run_retention` (plan, redact, journal, delete, publish the manifest).
"""
