"""The ``crisiswatch`` command line: main.py (the root) -> one module per command
group -> common.py (shared options, errors, config and database).

``app`` is re-exported because installs made before the CLI became a package have a
``crisiswatch`` script that imports ``monitor.cli:app``; new installs use
``monitor.cli.main:app``."""

from monitor.cli.main import app

__all__ = ["app"]
