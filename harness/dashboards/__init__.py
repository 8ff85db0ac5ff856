"""Grafana dashboards as code, their lint, push, provisioning and run annotations.

- `common`: the datasource variable, annotations and panel helpers every dashboard shares;
- `golden_signals`, `slos`, `chaos`: one module per dashboard, each built from a topology;
- `files`: every file `harness dashboards generate` writes (dashboards + provisioning);
- `provisioning`: Grafana's datasource and dashboard-provider files for docker compose;
- `queries`: Grafana variables in PromQL: placeholders to parse, values to evaluate;
- `lint`: the rules of grafana's dashboard-linter, offline; `live`: no panel is empty;
- `push`: upsert dashboards through grafana-client;
- `annotations`: mark a run's fault start, abort and end in Grafana.

Nothing is imported here, so `harness.dashboards.annotations` stays light for the
experiment engine (grafana-client is imported only when GRAFANA_URL is set).
"""

import warnings

# grafana-foundation-sdk warns on import that its v1 dashboard model has a v2 successor;
# the v1 JSON is what file provisioning and /api/dashboards/db take (docs/decisions.md)
warnings.filterwarnings("ignore", "Prefer using dashboardv2", DeprecationWarning)
