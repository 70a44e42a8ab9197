"""The durable feedback log: every served slate and every feedback event, appended once and read
back by the pipelines as date-partitioned Parquet. `open_log(uri)` picks the store."""

from pipelines.feedback.log import FeedbackConflict, FeedbackLog, open_log
from pipelines.feedback.records import FeedbackEvent, Impression

__all__ = ["FeedbackConflict", "FeedbackEvent", "FeedbackLog", "Impression", "open_log"]
