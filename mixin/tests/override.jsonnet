// build.jsonnet's files from the mixin with one threshold changed, as a site would do it
// (scripts/checks/20-rules.sh runs override_test.yml against the result).
(import '../build.jsonnet') {
  local mixin = (import '../mixin.libsonnet') + { _config+:: { thresholds+: { storageWarningRatio: 0.5 } } },
  'deploy/prometheus/rules/recording.yml'+: { yaml: mixin.prometheusRules },
  'deploy/prometheus/rules/alerts.yml'+: { yaml: mixin.prometheusAlerts },
}
