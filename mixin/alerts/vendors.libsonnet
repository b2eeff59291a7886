// Alerts specific to one vendor, from its file in rules/vendors/.
local lib = import '../lib/quota.libsonnet';
local vendors = import '../rules/vendors.libsonnet';
{
  prometheusAlerts+:: {
    local c = $._config,
    groups+: [{
      name: 'quota-exporter-service-state',
      rules: std.flattenArrays([v.alerts(c, lib) for v in vendors]),
    }],
  },
}
