local lib = import '../lib/quota.libsonnet';
{
  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    local at = '{{ with printf "quota:expiry_timestamp_seconds:held{vendor=%q,account=%q,item=%q,instance=%q}" $labels.vendor $labels.account $labels.item $labels.instance | query }} (at {{ . | first | value | humanizeTimestamp }}){{ end }}',
    local expiring(severity, days, text) = lib.alert(
      c,
      'QuotaSubscriptionExpiring',
      severity,
      lib.threshold(c, 'quota:expiry_timestamp_seconds:held - time() > 0', '<', 'quota_exporter_alert_threshold_seconds', 'expiry', severity, '%d * 86400' % days),
      'Subscription of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} expires in {{ $value | humanizeDuration }}',
      |||
        The subscription of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} expires in {{ $value | humanizeDuration }}%s. %s
      ||| % [at, text],
    ),

    groups+: [{
      name: 'quota-exporter-expiry',
      rules: [
        expiring('warning', t.expiryWarningDays, 'Renew it (warning %d days ahead unless the account sets its own).' % t.expiryWarningDays),
        expiring('critical', t.expiryCriticalDays, 'Renew it now (critical %d days ahead unless the account sets its own).' % t.expiryCriticalDays),
        lib.alert(
          c,
          'QuotaSubscriptionExpired',
          'critical',
          'time() - quota:expiry_timestamp_seconds:held >= 0',
          'Subscription of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has expired',
          |||
            The subscription of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} expired {{ $value | humanizeDuration }} ago%s. Paid features are no longer available: renew it.
          ||| % at,
        ),
        lib.alert(
          c,
          'QuotaLicencesExpiring',
          'warning',
          'quota:licences_expiring:count:held > 0',
          '{{ $value }} licence(s) of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} expire soon',
          |||
            {{ $value }} licence(s) of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} expire soon
            (Tencent Cloud CWP: within 15 days; Microsoft 365: in their grace period). The hosts or
            users they are bound to lose them when they expire: renew them or turn on automatic renewal.
          |||,
        ),
        lib.alert(
          c,
          'QuotaLicencesExpiring',
          'critical',
          'quota:licences_expiring:ratio:held > %s' % lib.num(t.licencesExpiringCriticalRatio),
          '{{ $value | humanizePercentage }} of the licences of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} expire soon',
          |||
            {{ $value | humanizePercentage }} of the licences of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }}
            that can be bound expire soon (Tencent Cloud CWP: within 15 days; Microsoft 365: in their
            grace period; critical above %s). That many hosts or users lose them together: renew now.
          ||| % (lib.num(t.licencesExpiringCriticalRatio * 100) + '%'),
        ),
        lib.alert(
          c,
          'QuotaLicencesExpired',
          'critical',
          'quota:licences_expired:count:held > 0',
          '{{ $value }} licence(s) of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} have expired',
          |||
            {{ $value }} licence(s) of {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} have expired.
            The hosts or users that were bound to them no longer have the paid edition: renew the
            licences, or unbind and release them if they are no longer needed.
          |||,
        ),
      ],
    }],
  },
}
