"""The `stdout` sink: formatted entries on standard output."""
