"""The exception the crash-injection hooks of the retention tests raise."""


class SimulatedCrash(RuntimeError):
    """A worker dying at the hook's point (the deleter must resume from its journal)."""
