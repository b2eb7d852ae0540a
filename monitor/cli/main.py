"""The ``crisiswatch`` command: the root of the CLI tree.

This module builds the root app and mounts the command modules beside it, in the
order ``--help`` lists them; they import only ``common.py``, never this module or
each other. Run as ``crisiswatch`` (the installed script) or ``python -m
monitor.cli``."""

from __future__ import annotations

import typer

from monitor.cli import alerts, history, lab, model, playbooks, reply, run, sources, users, web

app = typer.Typer(help="Watch feeds for brand mentions, flag complaints early, alert the PR "
                       "team with a first-response playbook.", no_args_is_help=True,
                  add_completion=False)

app.command("check-config")(run.check_config)
app.command("run")(run.run)
app.command("history")(history.history)
app.command("incidents")(history.incidents)
app.command("incident")(history.incident)
app.command("backtest")(lab.backtest)
app.add_typer(sources.sources_app, name="sources")
app.command("score")(model.score)
app.add_typer(model.model_app, name="model")
app.command("rescore")(run.rescore)
app.command("demo")(lab.demo)
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(playbooks.playbooks_app, name="playbooks")
app.add_typer(users.users_app, name="users")
app.command("report")(alerts.report)
app.command("reply-check")(reply.reply_check)
app.command("web")(web.web)

if __name__ == "__main__":
    app()
