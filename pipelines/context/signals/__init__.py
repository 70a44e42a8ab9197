"""Importing this package registers every signal (one module per source group)."""

from pipelines.context.signals import (  # noqa: F401
    account, campaign, interaction, market, performance, workflow,
)
