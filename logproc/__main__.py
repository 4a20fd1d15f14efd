"""`python -m logproc` is the `logproc` command."""

from logproc.cli import main

raise SystemExit(main())
