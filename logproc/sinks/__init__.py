"""Sinks: where entries go. Each sink runs in its own thread behind a bounded inbox
(`runner.SinkRunner`); a sink acknowledges a payload once it is written and flushed."""
