"""The running pipeline: batches from the sources cross the bounded queue (`queue`), the
consumer threads (`consumers`) run each source's batch function (`stages`, in worker
processes when `[daemon] workers` > 0: `offload`) and hand the payloads to the sink
runners; acknowledgements advance the checkpoints (`acks`, `committer`). `build` makes
it from a config."""
