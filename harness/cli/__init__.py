"""The `harness` command line: parse, call, print, exit. No logic lives here.

One module per command group, all registering on one Typer app:

- `app`: the app, its shared options and consoles, `--version`;
- `stack`: up, down, status, compose;
- `experiments`: validate, schema, run, recover, report;
- `slo`: slo generate;
- `alerts`: alerts check, alerts validate;
- `gate`: the release gate;
- `dashboards`: dashboards generate, lint, push;
- `schedule`: schedule run, history, print, ack;
- `display`: a run's progress (live on a terminal, plain lines otherwise);
- `main`: the one place that turns every HarnessError into a message and an exit code.

Only this package imports typer and rich.
"""

from __future__ import annotations

# the import order is the order of `harness --help`: the stack's commands, then the experiments'
from harness.cli import stack  # noqa: F401  (registers up, down, status, compose)

# isort: split
from harness.cli import experiments  # noqa: F401  (registers validate, schema, run, recover, report)

# isort: split
from harness.cli import slo  # noqa: F401  (registers slo generate)

# isort: split
from harness.cli import alerts  # noqa: F401  (registers alerts check, alerts validate)

# isort: split
from harness.cli import gate  # noqa: F401  (registers gate)

# isort: split
from harness.cli import dashboards  # noqa: F401  (registers dashboards generate, lint, push)

# isort: split
from harness.cli import schedule  # noqa: F401  (registers schedule run, history, print, ack)
from harness.cli.app import app
from harness.cli.main import main

__all__ = ["app", "main"]
