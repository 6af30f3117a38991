"""cost-budget: cost per task recomputed per Roo Code's formulas, budgets per scope and
period, forecasts, spend anomalies, alerts with a cooldown.

Modules: prices (genai-prices + overrides), cost (Roo Code's formulas), reader (validated
tables + quality gate, load_period), models and fits (the model when nobody names it:
prices fitted to costs), spend (aggregation, roll-up), task_table (the task list as
columns), drift, budgets, anomalies, analysis (the pipeline), shards (the same out of
core), report (charts, tables, task_costs.csv), job (the contract hooks: collect and
evaluate). The flow is the template's (flows/template.py, entry in flows/registry.py).

Configuration (compliance.yaml), validated before the flow starts::

    budget:
      prices:                      # USD per million tokens; wins over genai-prices
        - {provider: anthropic, model: claude-sonnet-4-5, input: 2.4, output: 12,
           cache_write: 3.0, cache_read: 0.24}
      webhook_url: https://hooks.example/...   # optional; never logged
      cooldown_hours: 24
      drift: {pct: 5, floor_usd: 0.05}
      anomalies: {scopes: [org, team, user], floor_usd: 5, z: 3.5, ratio_7d: 3, wow: 3}
    budgets:
      timezone: Europe/Berlin
      rules:
        - {name: org-month, type: spend, scope: org, period: month, amount: 20000,
           threshold: {warn: 80%, fail: 100%}}
        - {name: web-week, type: spend, scope: team, match: web, period: week,
           amount: 800, threshold: {warn: $600, fail: $800}}
        - {name: task-cap, type: task_cap, threshold: {warn: 10x, fail: $25}}
"""
