local lib = import '../lib/quota.libsonnet';
{
  prometheusAlerts+:: {
    local c = $._config,
    local t = c.thresholds,
    local counts = '{{ with printf "quota:seats_used:count:held{vendor=%q,account=%q,item=%q,instance=%q}" $labels.vendor $labels.account $labels.item $labels.instance | query }} ({{ . | first | value }}{{ end }}{{ with printf "quota:seats_limit:count:held{vendor=%q,account=%q,item=%q,instance=%q}" $labels.vendor $labels.account $labels.item $labels.instance | query }} of {{ . | first | value }}){{ end }}',
    local ratio(severity, default) =
      lib.threshold(c, 'quota:seats_used:ratio:held', '>=', 'quota_exporter_alert_threshold_ratio', 'seats', severity, default),

    groups+: [{
      name: 'quota-exporter-seats',
      rules: [
        lib.alert(
          c,
          'QuotaSeatsNearlyExhausted',
          'warning',
          // From the warning threshold up to (not including) the critical one.
          |||
            (
            %s
            )
            unless on(job, instance, vendor, account, item)
            (
            %s
            )
          ||| % [ratio('warning', t.seatsWarningRatio), ratio('critical', t.seatsCriticalRatio)],
          '{{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has used {{ $value | humanizePercentage }} of its seats',
          |||
            {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has used {{ $value | humanizePercentage }}
            of its seats or licences%s. Buy more or reclaim unused ones before the next user or host needs one.
          ||| % counts,
        ),
        lib.alert(
          c,
          'QuotaSeatsExhausted',
          'critical',
          ratio('critical', t.seatsCriticalRatio),
          '{{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has no seats left',
          |||
            {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has used {{ $value | humanizePercentage }}
            of its seats or licences%s. No further user or host can be given one until more are bought or some are reclaimed.
          ||| % counts,
        ),
        lib.alert(
          c,
          'QuotaSeatsRunningOut',
          'warning',
          |||
            quota:seats_used:ratio:held
            and on(job, instance, vendor, account, item)
            quota:seats_free_predicted:count:held < 0
          |||,
          '{{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} will run out of seats within %d days' % t.seatsTrend.horizonDays,
          |||
            {{ $labels.vendor }} account {{ $labels.account }}{{ with $labels.item }} ({{ . }}){{ end }} has used {{ $value | humanizePercentage }}
            of its seats or licences%s and, at the rate of the last %s, will need more within %d days.
          ||| % [counts, t.seatsTrend.window, t.seatsTrend.horizonDays],
          t.seatsTrend['for'],
        ),
      ],
    }],
  },
}
