"""Command-line subcommands; each module has HELP, add_arguments(parser) and run(args) -> int.

May import every package (``run.py`` imports the daemon only when it runs); the only place besides
``cli.py`` that prints.
"""
