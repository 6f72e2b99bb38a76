"""prefmill's own error types. Callers catch these narrowly; anything else is a bug."""


class PrefmillError(Exception):
    """Base of every error prefmill raises on purpose."""


class SchemaError(PrefmillError):
    """A record or model does not fit the record contract."""


class ConfigError(PrefmillError):
    """A configuration is invalid; the message names the key and the fix."""


class InputError(PrefmillError):
    """Input data cannot be opened or read at all (single bad rows become dead letters instead)."""


class DatasetError(PrefmillError):
    """A dataset URI or version cannot be read or committed."""


class CommitConflictError(DatasetError):
    """Another writer committed to the same dataset at the same time and the commit could not be retried."""
