"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""


class ZooError(Exception):
    """Bad input or a bad name: the message names the file, field or entry at fault."""


class DataMissing(ZooError):
    """A dataset's default data is not installed; the message says which package holds it."""


class PluginError(ZooError):
    """A plugin failed to load or registered something invalid."""
