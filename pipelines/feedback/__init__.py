"""The durable feedback log: every served slate (with, for a share of requests, what the ranker
saw and said for each item) and every feedback event, appended once and read back by the
pipelines as date-partitioned Parquet. `open_log(uri)` picks the store."""

from pipelines.feedback.log import FeedbackConflict, FeedbackLog, open_log
from pipelines.feedback.records import FeedbackEvent, Impression, RankerInput

__all__ = ["FeedbackConflict", "FeedbackEvent", "FeedbackLog", "Impression", "RankerInput",
           "open_log"]
