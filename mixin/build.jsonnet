// Every generated file, by path from the repository root; mixin/render.py writes them
// (YAML with the keys in Prometheus' documented order, JSON for the dashboards).
local mixin = import 'mixin.libsonnet';
local generated = |||
  GENERATED FILE, DO NOT EDIT: rendered from mixin/ by mixin/build.sh (change the jsonnet, or
  your own _config, and re-run it). docs/alerting.md explains every rule.

|||;
{
  'deploy/prometheus/rules/recording.yml': {
    header: generated + |||
      Recording rules: the vendor-neutral quota:* series (one file per vendor in
      mixin/rules/vendors/), the account bookkeeping (quota:account_*), and the held (`:held`)
      inputs of the alerts: a series' current value, or its last value while the account's data
      is missing, so that an alert never resolves because its data went away.
    |||,
    yaml: mixin.prometheusRules,
  },
  'deploy/prometheus/rules/alerts.yml': {
    header: generated + |||
      Alerts on the held inputs of recording.yml: a firing alert resolves only on fresh data
      that clears its condition. Every account alert carries the account's labels (the config's
      `labels:`) and compares against its own thresholds (`thresholds:`), falling back to the
      mixin's _config.
    |||,
    yaml: mixin.prometheusAlerts,
  },
} + {
  ['dashboards/' + name]: { json: mixin.grafanaDashboards[name] }
  for name in std.objectFields(mixin.grafanaDashboards)
}
