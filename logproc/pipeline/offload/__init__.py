"""Worker processes that parse, filter and format batches (`[daemon] workers`): the pool the
consumer threads call (`pool`) and the process it starts (`worker`)."""
