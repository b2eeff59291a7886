local lib = import '../lib/quota.libsonnet';
{
  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    local free = '{{ with printf "quota:storage_free:bytes:held{vendor=%q,account=%q,item=%q,instance=%q}" $labels.vendor $labels.account $labels.item $labels.instance | query }}; {{ . | first | value | humanize1024 }}B are free{{ end }}',
    local nearlyFull(severity, default, text) = lib.alert(
      c,
      'QuotaStorageNearlyFull',
      severity,
      lib.threshold(c, 'quota:storage_used:ratio:held', '>', 'quota_exporter_alert_threshold_ratio', 'storage', severity, default),
      'Storage of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} is {{ $value | humanizePercentage }} full',
      |||
        {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has used {{ $value | humanizePercentage }}
        of its storage (%s above the account's threshold, default %s)%s.
        %s
      ||| % [severity, lib.num(default * 100) + '%', free, text],
    ),
    local fillingUp(severity, b) = lib.alert(
      c,
      'QuotaStorageFillingUp',
      severity,
      |||
        quota:storage_used:ratio:held > %(used)s
        and on(job, instance, vendor, account, item)
        quota:storage_free_predicted:bytes:held{severity="%(sev)s"} < 0
      ||| % { used: lib.num(b.usedRatio), sev: c.severities[severity] },
      'Storage of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} will be full within %d days' % b.horizonDays,
      |||
        {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has used {{ $value | humanizePercentage }}
        of its storage and, at the rate of the last %s, will run out of space within %d days.
      ||| % [b.window, b.horizonDays],
      b['for'],
    ),

    groups+: [{
      name: 'quota-exporter-storage',
      rules: [
        nearlyFull('warning', t.storageWarningRatio, 'Free space or buy more capacity before uploads start failing.'),
        nearlyFull('critical', t.storageCriticalRatio, 'Uploads will fail when it is full: free space or buy more capacity now.'),
        // The current-usage floor keeps a young, nearly empty account with a steep first day
        // from alerting.
        fillingUp('warning', t.fillingUpWarning),
        fillingUp('critical', t.fillingUpCritical),
      ],
    }],
  },
}
