"""Sources: where lines come from. Today one kind, `file`: globs tailed by one watcher
thread per source (discovery, one tailer per file, fingerprints, line splitting)."""
