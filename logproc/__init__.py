"""logproc: a log-processing daemon for one server that loses no line."""

__version__ = "0.1.0"
