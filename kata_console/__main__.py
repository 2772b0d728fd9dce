"""`python -m kata_console` is the same as the `kata-console` command."""

from kata_console.cli import main

raise SystemExit(main())
