"""The `file` source: tails the files its globs match, through rotation, truncation,
deletion and compression (`source`: discovery and the read loop; `tailer`: one file's state
machine; `recovery`, `archives`: what happens when a file is not simply growing)."""
