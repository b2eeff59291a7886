// The quota-exporter monitoring mixin: recording rules, alerts and dashboards, configured by
// config.libsonnet's _config. `mixin/build.sh` renders it into deploy/prometheus/rules/,
// deploy/kubernetes/common/prometheusrule.yaml and dashboards/.
(import 'config.libsonnet')
+ (import 'rules/recording.libsonnet')
+ (import 'alerts/storage.libsonnet')
+ (import 'alerts/seats.libsonnet')
+ (import 'alerts/expiry.libsonnet')
+ (import 'alerts/vendors.libsonnet')
+ (import 'alerts/health.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
