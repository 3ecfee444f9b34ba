"""`python -m pykeepalived` runs the command line."""

from pykeepalived.cli import main

raise SystemExit(main())
