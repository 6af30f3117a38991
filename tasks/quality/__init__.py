"""telemetry-quality: Great Expectations suites, quarantine, fleet health, the gate.

Decisions (also in the suites' notes):
- Suites are GX 1.x JSON files in `expectations/` (one per table: tasks, events, roster),
  read at run time by `suites.load_suites`; a broken file is one `SuiteError` naming it.
- Run-time bounds use GX's own parameter substitution: the suites hold
  {"$PARAMETER": "period_start" | "ts_max" | "schema_version" | "max_request_cost" |
  "<table>_rows_min" | "<table>_rows_max"}; `job.expectation_parameters` evaluates them
  (ts_max = min(period end, now + skew); row bounds from the recent days' history) and
  they are passed as `expectation_parameters` to `batch.validate`.
- Types under pandas 3: see `frames.py` (str dtype for strings, nullable Int/boolean,
  tz-aware timestamps; the suites use expect_column_values_to_be_of_type).
- Severity: meta.severity critical fails the run (and the gate), warning is reported.
  Row-level critical expectations carry `mostly` 0.95: a few bad rows are quarantined
  and count toward the quarantine-rate gate (`quality.max_quarantine_rate`).
- Every row in an expectation's unexpected_index_list is quarantined with that
  expectation's meta.name as a reason (meta.quarantine=false: report only); for
  uniqueness the first occurrence stays.
"""
