"""Sources: where entries come from, one package per kind (`file`: files matched by globs,
tailed through rotation and compression; `journald`: the systemd journal; `syslog`: a
receiver on UDP, TCP and unix sockets), declared in `registry`, built on `base`."""
