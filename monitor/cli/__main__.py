"""``python -m monitor.cli``: the same command as the installed ``crisiswatch``."""

from monitor.cli.main import app

app(prog_name="crisiswatch")
