// Building blocks shared by the rules: held inputs, per-account thresholds, account labels.
// Every function takes the mixin's _config as `c`.
{
  // Labels that identify one account's series from one exporter target.
  on:: 'job, instance, vendor, account',

  // A number as PromQL text: 0.85, not 0.84999999999999998.
  num(x):: if std.isString(x) then x else std.format('%g', x),

  durationSeconds(d)::
    local units = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    local unit = d[std.length(d) - 1];
    std.parseInt(std.substr(d, 0, std.length(d) - 1)) * units[unit],

  // The exporter's series of the configured job.
  sel(c, metric, matchers='')::
    '%s{%s%s}' % [metric, c.jobSelector, if matchers == '' then '' else ', ' + matchers],

  // A recording rule `<name>:held`: `fresh` while it exists, else its own last value, for as
  // long as `missing` holds for the account and the account is still tracked. This is what
  // keeps an alert from resolving when its data goes away (docs/alerting.md).
  //   name     the series to hold (a recorded quota:* series, or an exporter series)
  //   fresh    the expression giving it now (default: name itself)
  //   current  an expression present for an account while its data counts as current; the
  //            held value is dropped as soon as it is there (default: the account's vendor
  //            data is younger than its max_staleness)
  held(c, name, fresh=name, current='quota:account_data:fresh'):: {
    record: name + ':held',
    expr: |||
      %(fresh)s
      or
      (
        %(name)s:held
          unless on(vendor, account) %(fresh)s%(current)s
          and on(vendor, account) quota:account:tracked
      )
    ||| % {
      name: name,
      fresh: fresh,
      current: if current == fresh then '' else '\n    unless on(vendor, account) ' + current,
    },
  },

  // `series op threshold`, where the threshold is the account's own (exported from the
  // config's `thresholds:`, held like the data) or `default` where it has none.
  threshold(c, series, op, family, quantity, severity, default)::
    local t = '%s:held{quantity="%s", severity="%s"}' % [family, quantity, severity];
    |||
      (
        %(s)s
      ) %(op)s on(%(on)s) group_left() %(t)s
      or
      (
        %(s)s
      ) %(op)s %(d)s unless on(%(on)s) %(t)s
    ||| % { s: std.rstripChars(series, '\n'), op: op, on: $.on, t: t, d: $.num(default) },

  // The account's labels (the config's `labels:`) joined into an alert's expression.
  withAccountLabels(c, expr)::
    |||
      (
      %s
      )
      * on(%s) group_left(%s)
        quota:account:info
    ||| % [
      std.join('\n', ['  ' + l for l in std.split(std.rstripChars(expr, '\n'), '\n')]),
      $.on,
      std.join(', ', c.accountLabels),
    ],

  // An alerting rule. `severity` is a key of c.severities; paging alerts (c.pagingAlerts)
  // get urgency="high" on their critical band, everything else urgency="low".
  alert(c, name, severity, expr, summary, description, forDuration='', labels={}, accountLabels=true)::
    {
      alert: name,
      expr: if accountLabels then $.withAccountLabels(c, expr) else expr,
    }
    + (if forDuration != '' then { 'for': forDuration } else {})
    + {
      labels: {
        severity: c.severities[severity],
        urgency: if severity == 'critical' && std.member(c.pagingAlerts, name) then 'high' else 'low',
      } + labels,
      annotations: {
        summary: summary,
        // One line, as YAML's folded style would make it.
        description: std.join(' ', std.filter(function(l) l != '', std.split(description, '\n'))),
        runbook_url: c.runbookURLPattern % std.asciiLower(name),
      },
    },
}
