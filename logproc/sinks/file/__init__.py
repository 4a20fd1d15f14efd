"""The `file` sink: appends formatted entries to a file, one path per source with `{source}`."""
