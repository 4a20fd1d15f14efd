"""The daemon: builds the pipeline from a config (topology), runs consumers (workers),
turns signals into control messages (signals) and acts on them in one loop (supervisor)."""
