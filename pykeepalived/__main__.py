"""`python -m pykeepalived` runs the command line."""

from pykeepalived.cli import entry

entry()
