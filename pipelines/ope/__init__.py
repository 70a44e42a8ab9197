"""Off-policy evaluation: estimates of a policy's value from logged bandit feedback (IPS/IIPS,
self-normalised IPS, doubly robust, cascade), with cluster bootstrap intervals and effective
sample sizes, on the Open Bandit Pipeline's schema (docs/ope.md)."""

from pipelines.ope.data import LoggedBandit, from_table, read_bandit, write_bandit
from pipelines.ope.job import ESTIMATORS, OpeConfig, estimate, render, run_ope

__all__ = ["ESTIMATORS", "LoggedBandit", "OpeConfig", "estimate", "from_table", "read_bandit",
           "render", "run_ope", "write_bandit"]
