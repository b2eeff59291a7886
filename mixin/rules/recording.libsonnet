// Recording rules: the vendor-neutral quota:* series, the account bookkeeping that keeps alerts
// from resolving when data goes away, and the held (`:held`) inputs of every alert.
local lib = import '../lib/quota.libsonnet';
local vendors = import 'vendors.libsonnet';

{
  prometheusRules+:: {
    local c = $._config,
    local t = c.thresholds,
    local maxAge = lib.durationSeconds(c.heldDataMaxAge),
    local up = lib.sel(c, 'up'),
    local exporterUp = lib.sel(c, 'quota_exporter_up'),

    // The vendor-neutral series, in this order; a vendor's own extra series follow.
    local order = [
      'quota:storage_capacity:bytes',
      'quota:storage_used:bytes',
      'quota:storage_free:bytes',
      'quota:seats_limit:count',
      'quota:seats_used:count',
      'quota:expiry_timestamp_seconds',
      'quota:licences_expiring:count',
      'quota:licences_expired:count',
    ],
    local extra = std.set(std.flattenArrays([
      [n for n in std.objectFields(v.recording) if !std.member(order, n)]
      for v in vendors
    ])),
    local vendorRules = [
      { record: name, expr: v.recording[name], labels: { vendor: v.vendor } }
      for name in order + extra
      for v in vendors
      if std.objectHas(v.recording, name)
    ],

    // What the alerts read, held while the account's data is missing.
    local heldInputs = [
      'quota:storage_used:ratio',
      'quota:storage_free_predicted:bytes',
      'quota:seats_used:ratio',
      'quota:seats_free_predicted:count',
      'quota:expiry_timestamp_seconds',
      'quota:licences_expiring:count',
      'quota:licences_expiring:ratio',
      'quota:licences_expired:count',
      // Not compared, but quoted in the alerts' descriptions (free space, seats used of limit).
      'quota:storage_free:bytes',
      'quota:seats_used:count',
      'quota:seats_limit:count',
    ] + extra,

    groups+: [
      {
        // Which accounts exist, whether their data is current, and the exporter's own series
        // held the same way as the data (so that labels, thresholds and health alerts survive
        // an exporter outage too).
        name: 'quota-exporter-accounts',
        rules: [
          {
            // When an exporter last listed the account; kept while that exporter cannot be
            // scraped, dropped as soon as it is scraped without the account.
            record: 'quota:account_listed:timestamp_seconds',
            expr: |||
              time() + 0 * group by (job, instance, vendor, account) (%(exporterUp)s)
              or
              (quota:account_listed:timestamp_seconds unless on(job, instance) %(up)s == 1)
            ||| % { exporterUp: exporterUp, up: up },
          },
          {
            // Accounts whose last values may be held: listed within heldDataMaxAge.
            record: 'quota:account:tracked',
            expr: |||
              group by (vendor, account) (time() - quota:account_listed:timestamp_seconds < %d)
            ||| % maxAge,
          },
          {
            // Accounts whose vendor data is current: the last success is younger than the
            // account's max_staleness (3 poll intervals for exporters that do not say).
            record: 'quota:account_data:fresh',
            expr: |||
              group by (job, instance, vendor, account) (
                  time() - %(last)s
                < on(job, instance, vendor, account) group_left()
                  (
                      max by (job, instance, vendor, account) (%(maxStale)s)
                    or
                      max by (job, instance, vendor, account) (3 * %(interval)s)
                  )
              )
            ||| % {
              last: lib.sel(c, 'quota_exporter_last_success_timestamp_seconds'),
              maxStale: lib.sel(c, 'quota_exporter_max_staleness_seconds'),
              interval: lib.sel(c, 'quota_exporter_poll_interval_seconds'),
            },
          },
        ] + [
          // The exporter's per-account series: held while the exporter does not serve the account.
          lib.held(c, name, lib.sel(c, name), exporterUp)
          for name in [
            'quota_exporter_up',
            'quota_exporter_last_success_timestamp_seconds',
            'quota_exporter_poll_interval_seconds',
            'quota_exporter_account_info',
            'quota_exporter_alert_threshold_ratio',
            'quota_exporter_alert_threshold_seconds',
          ]
        ] + [
          {
            // Per exporter: held while it cannot be scraped, for at most heldDataMaxAge.
            local s = lib.sel(c, 'quota_exporter_config_last_reload_successful'),
            record: 'quota_exporter_config_last_reload_successful:held',
            expr: |||
              %(s)s
              or
              (
                quota_exporter_config_last_reload_successful:held
                  unless on(job, instance) %(s)s
                  unless on(job, instance) %(up)s == 1
                  and on(job, instance) max_over_time(%(up)s[%(age)s])
              )
            ||| % { s: s, up: up, age: c.heldDataMaxAge },
          },
          {
            // The account's labels for the alerts (accounts of exporters too old to export
            // quota_exporter_account_info get none).
            record: 'quota:account:info',
            expr: |||
              quota_exporter_account_info:held
              or on(job, instance, vendor, account)
              group by (job, instance, vendor, account) (quota_exporter_up:held)
            |||,
          },
        ],
      },
      {
        name: 'quota-exporter-recording',
        rules: vendorRules + [
          {
            // used / capacity, 0..1 (above 1 when over capacity); a capacity of 0 is left out.
            record: 'quota:storage_used:ratio',
            expr: 'quota:storage_used:bytes / (quota:storage_capacity:bytes > 0)',
          },
          {
            // used / limit, 0..1 (1 = no seat left); a limit of 0 is left out.
            record: 'quota:seats_used:ratio',
            expr: 'quota:seats_used:count / (quota:seats_limit:count > 0)',
          },
          {
            // Share of the licences that can be bound which expire soon.
            record: 'quota:licences_expiring:ratio',
            expr: 'quota:licences_expiring:count / (quota:seats_limit:count > 0)',
          },
        ] + [
          {
            // Free space expected at the end of the band's horizon, at the trend of its window;
            // only while the free space itself is current.
            record: 'quota:storage_free_predicted:bytes',
            expr: |||
              predict_linear(quota:storage_free:bytes[%(window)s], %(horizon)d * 86400)
              and quota:storage_free:bytes
            ||| % { window: b.window, horizon: b.horizonDays },
            labels: { severity: c.severities[b.severity] },
          }
          for b in [t.fillingUpWarning { severity: 'warning' }, t.fillingUpCritical { severity: 'critical' }]
        ] + [
          {
            // Seats left at the end of the trend horizon (negative: they run out before).
            record: 'quota:seats_free_predicted:count',
            expr: |||
              quota:seats_limit:count
              - predict_linear(quota:seats_used:count[%(window)s], %(horizon)d * 86400)
            ||| % { window: t.seatsTrend.window, horizon: t.seatsTrend.horizonDays },
          },
        ] + [lib.held(c, name) for name in heldInputs],
      },
    ],
  },
}
