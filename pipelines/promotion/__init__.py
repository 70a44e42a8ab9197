"""Promotion: the step between a registered candidate and the version served, gated by its
evaluation."""
