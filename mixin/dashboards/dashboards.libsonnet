// Grafana dashboards. The panels are edited as Grafana JSON (dashboards/src/, exported from
// Grafana); the mixin applies _config to them: the job selector in every query, the tags, and
// the API-call window of the WeDrive dashboard.
{
  grafanaDashboards+:: {
    local c = $._config,
    local query(expr) = std.strReplace(expr, 'job="quota-exporter"', c.jobSelector),
    local days = c.apiCallWindowDays,
    local apiCalls(p) =
      if p.title == 'API calls, last 30 days' || p.title == 'API calls per 30 days' then p {
        title: 'API calls per 30 days',
        description: "Calls made to the WeCom API per account, token requests and retries included (quota_exporter_api_requests_total), counted over the last %(d)d days and scaled to 30: WeCom meters API calls per month, and a 30-day range would silently undercount under Prometheus's default 15-day retention. Raise the poll interval if this approaches your quota." % { d: days },
        targets: [
          t { expr: 'sum by (account) (increase(quota_exporter_api_requests_total{vendor="$vendor", account=~"$account"}[%dd])) * 30 / %d' % [days, days] }
          for t in p.targets
        ],
      } else p,
    local panel(p) = apiCalls(p) + (
      if std.objectHas(p, 'targets') then { targets: [t + (if std.objectHas(t, 'expr') then { expr: query(t.expr) } else {}) for t in apiCalls(p).targets] } else {}
    ) + (
      if std.objectHas(p, 'panels') then { panels: [panel(q) for q in p.panels] } else {}
    ),
    local dashboard(d) = d {
      tags: std.set(c.dashboardTags + [t for t in d.tags if t != 'quota-exporter']),
      panels: [panel(p) for p in d.panels],
      templating+: {
        list: [v + (if std.objectHas(v, 'query') && std.isString(v.query) then { query: query(v.query) } else {}) + (if std.objectHas(v, 'definition') then { definition: query(v.definition) } else {}) for v in d.templating.list],
      },
    },

    'quota-overview.json': dashboard(import 'src/quota-overview.json'),
    'quota-exporter-health.json': dashboard(import 'src/quota-exporter-health.json'),
    'wecom-wedrive.json': dashboard(import 'src/wecom-wedrive.json'),
    'koodrive.json': dashboard(import 'src/koodrive.json'),
    'tencent-cwp.json': dashboard(import 'src/tencent-cwp.json'),
    'microsoft365.json': dashboard(import 'src/microsoft365.json'),
    'http-json.json': dashboard(import 'src/http-json.json'),
  },
}
