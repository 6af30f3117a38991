"""Access-review checks: one folder per check (<id>/<id>.py + <id>.metadata.json)."""
