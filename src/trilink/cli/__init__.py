"""The ``trilink`` command line (Typer). Thin: parses arguments, calls the packages, prints."""
