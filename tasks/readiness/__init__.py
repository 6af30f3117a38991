"""readiness: the operating model's criteria and controls graded from verified bundles."""
