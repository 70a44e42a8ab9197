"""One error type per kind of mistake; the CLI prints them as one line, the service as a status."""


class GuidanceError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(GuidanceError):
    """A job's configuration is invalid (names the field and what would be accepted)."""


class StorageError(GuidanceError):
    """The root cannot be read or written, or holds something unexpected."""


class DataError(GuidanceError):
    """A table is missing or does not match its contract."""


class NotFoundError(GuidanceError):
    """An advertiser, campaign, snapshot or recommendation that does not exist."""
