"""Small, specific exception classes. Messages are one line and never carry a secret."""


class ComplianceError(Exception):
    """Base class: anything the CLI turns into a one-line error and a non-zero exit."""


class ConfigError(ComplianceError):
    """The configuration (file or environment) is invalid; the message names the key."""


class StorageError(ComplianceError):
    """The object store refused or could not complete an operation."""


class InputError(ComplianceError):
    """An input file or object could not be read at all (not a per-record problem)."""
