local lib = import '../lib/quota.libsonnet';
{
  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    local up = lib.sel(c, 'up'),
    local stale = |||
      (time() - quota_exporter_last_success_timestamp_seconds:held)
        > on(job, instance, vendor, account) group_left()
      %d * quota_exporter_poll_interval_seconds:held
    ||| % t.staleIntervals,
    local staleDescription = |||
      The last successful poll of {{ $labels.vendor }} account {{ $labels.account }} by {{ $labels.instance }}
      was {{ $value | humanizeDuration }} ago{{ with printf "quota_exporter_poll_interval_seconds:held{vendor=%%q,account=%%q,instance=%%q}" $labels.vendor $labels.account $labels.instance | query }},
      more than %d times its poll interval of {{ . | first | value | humanizeDuration }}{{ end }}. The account's
      alerts keep their last state until fresh data arrives: they neither fire nor resolve meanwhile.
    ||| % t.staleIntervals,

    local criticalHeld(urgency) = 'ALERTS{alertstate="firing", severity="%s", urgency="%s", alertname!~"QuotaExporter.*"}' % [c.severities.critical, urgency],
    local criticalAny = 'ALERTS{alertstate="firing", severity="%s", alertname!~"QuotaExporter.*"}' % c.severities.critical,
    local staleCritical(urgency, expr) = lib.alert(
      c,
      'QuotaExporterDataStale',
      'critical',
      |||
        %s
        and on(vendor, account)
        %s
      ||| % [std.rstripChars(stale, '\n'), expr],
      'Data of {{ $labels.vendor }} account {{ $labels.account }} is {{ $value | humanizeDuration }} old, with a critical alert held',
      staleDescription + 'A critical alert of this account is firing on its last known data.\n',
      '15m',
      labels={ urgency: urgency },
    ),

    groups+: [{
      name: 'quota-exporter-health',
      rules: [
        lib.alert(
          c,
          'QuotaExporterPollFailing',
          'warning',
          'quota_exporter_up:held == 0',
          'Polling {{ $labels.vendor }} account {{ $labels.account }} fails',
          |||
            The last poll of {{ $labels.vendor }} account {{ $labels.account }} by {{ $labels.instance }} failed,
            and no poll has succeeded for at least 30 minutes{{ with printf "topk(1, increase(quota_exporter_poll_failures_total{vendor=%q,account=%q,instance=%q}[6h]) > 0)" $labels.vendor $labels.account $labels.instance | query }}
            (most frequent failure reason in the last 6 hours: {{ . | first | label "reason" }}){{ end }}.
            Its data stays served until max_staleness, then disappears. The exporter's landing page
            shows the last error.
          |||,
          '30m',
        ),
        lib.alert(
          c,
          'QuotaExporterDataStale',
          'warning',
          stale,
          'Data of {{ $labels.vendor }} account {{ $labels.account }} is {{ $value | humanizeDuration }} old',
          staleDescription,
          '15m',
        ),
        // The same, critical while a critical alert of the account is firing on held data: an
        // alert that cannot resolve until the data is back deserves one about the blindness. It
        // inherits the urgency of what it hides: it pages only while a paging alert is held.
        staleCritical('high', criticalHeld('high')),
        staleCritical('low', '(%s unless on(vendor, account) %s)' % [criticalAny, criticalHeld('high')]),
        lib.alert(
          c,
          'QuotaExporterDown',
          'warning',
          '%s == 0' % up,
          'Prometheus cannot scrape quota-exporter {{ $labels.instance }}',
          |||
            Prometheus has failed to scrape quota-exporter at {{ $labels.instance }} (job {{ $labels.job }})
            for 15 minutes. Alerts of the accounts it serves keep their last state until it is back.
          |||,
          '15m',
          accountLabels=false,
        ) + { keep_firing_for: '10m' },
        lib.alert(
          c,
          'QuotaExporterAbsent',
          'warning',
          'absent(%s)' % up,
          'No quota-exporter target is being scraped',
          |||
            Prometheus has had no target in job {{ $labels.job }} for 15 minutes, so no quota alert of any
            vendor or account can fire. Check the scrape configuration and service discovery.
          |||,
          '15m',
          accountLabels=false,
        ) + { keep_firing_for: '10m' },
        lib.alert(
          c,
          'QuotaExporterConfigReloadFailed',
          'warning',
          'quota_exporter_config_last_reload_successful:held == 0',
          'quota-exporter {{ $labels.instance }} failed to load its configuration',
          |||
            The last configuration (re)load of quota-exporter at {{ $labels.instance }} failed. It keeps
            running with the previous configuration, so recent changes (new accounts, new secrets) are not
            in effect. The exporter's log says what is wrong.
          |||,
          '5m',
          accountLabels=false,
        ),
      ],
    }],
  },
}
