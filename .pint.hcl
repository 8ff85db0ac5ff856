// pint (Cloudflare's rule linter) for `harness alerts check`: a second opinion next to
// promtool and our own lints. `make pint` builds it into .bin/pint.
//
// No `prometheus {}` block, on purpose: the checks that query a live Prometheus
// (promql/series, promql/rate's range and counter checks, query/cost, ...) have no server
// to ask and do not run; `harness alerts check` also passes --offline. The rules must be
// judged the same with or without a running stack. The parser stays strict (no
// `relaxed`): our rule files are plain Prometheus `groups:` files.

// Hand-written alerts: the metadata `harness alerts check` already requires
// (lints.metadata). Severity "bug" so that pint's exit code fails on them (pint lint fails
// on bug by default; these checks would report warnings otherwise).
rule {
  match {
    kind = "alerting"
  }
  // generated SLO rules (`harness slo generate`, Sloth's layout) carry a summary but no
  // runbook_url, as our own lints allow: by where they live, and by the label every
  // generated alert has, wherever the file is written
  ignore {
    path = "(.*/)?alert_rules/slo/.*"
  }
  ignore {
    label "sloth_severity" {
      value = ".+"
    }
  }

  label "severity" {
    severity = "bug"
    comment  = "page wakes someone, ticket waits for working hours"
    values   = ["page", "ticket"]
    required = true
  }
  annotation "summary" {
    severity = "bug"
    required = true
  }
  annotation "runbook_url" {
    severity = "bug"
    comment  = "link the runbook section (docs/runbooks.md#...) the responder should follow"
    required = true
  }
}

// Sloth's generated layout records the same series names (slo:sli_error:ratio_rate5m, ...)
// in one group per SLO and reads them from another group, told apart by sloth_id
// matchers. rule/dependency matches by name only, so it names the wrong group, and the
// cross-group lag it warns about is one evaluation interval against windows of 5m to 30d.
// We do not edit generated files; the warning is noise there.
rule {
  match {
    path = "(.*/)?alert_rules/slo/.*"
  }
  disable = ["rule/dependency"]
}
