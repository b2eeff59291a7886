// Everything a site may want to change in the rules and dashboards, in one place.
// Override in your own jsonnet:
//   (import 'quota-exporter-mixin/mixin.libsonnet') + { _config+:: { jobSelector: 'job="quota"' } }
// One account's thresholds are changed in the exporter's config instead (`thresholds:`), which
// wins over these defaults for that account (docs/alerting.md).
{
  _config+:: {
    // Selects the exporter's targets in every rule and dashboard query.
    jobSelector: 'job="quota-exporter"',

    // Labels copied from quota_exporter_account_info (the config's `labels:`) into every
    // alert about an account, for Alertmanager to route by. List every label your configs
    // use; an account without one simply does not get it.
    accountLabels: ['team', 'owner'],

    // While an account's data is missing (polls failing past max_staleness, exporter down or
    // restarting, scrape failing), every alert input is held at its last value so that no
    // alert resolves for lack of data. The hold ends when fresh data arrives, when the
    // exporter (scraped fine) no longer lists the account, or after this long without the
    // exporter listing it at all (a target that disappeared from service discovery).
    heldDataMaxAge: '7d',

    // Defaults of the per-account thresholds (the config's `thresholds:` keys in brackets).
    thresholds: {
      storageWarningRatio: 0.85,  // [storage_warning] QuotaStorageNearlyFull, warning
      storageCriticalRatio: 0.95,  // [storage_critical] QuotaStorageNearlyFull, critical
      seatsWarningRatio: 0.90,  // [seats_warning] QuotaSeatsNearlyExhausted
      seatsCriticalRatio: 1,  // [seats_critical] QuotaSeatsExhausted
      expiryWarningDays: 30,  // [expiry_warning] QuotaSubscriptionExpiring, warning
      expiryCriticalDays: 7,  // [expiry_critical] QuotaSubscriptionExpiring, critical

      // Not per account:
      // QuotaStorageFillingUp: used share floor, trend window and how far ahead it looks.
      fillingUpWarning: { usedRatio: 0.70, window: '2d', horizonDays: 7, 'for': '2h' },
      fillingUpCritical: { usedRatio: 0.80, window: '1d', horizonDays: 2, 'for': '1h' },
      // QuotaSeatsRunningOut: the seats used, extrapolated this far at the trend of the window,
      // reach the limit.
      seatsTrend: { window: '7d', horizonDays: 14, 'for': '1h' },
      // QuotaLicencesExpiring is critical above this share of the licences that can be bound.
      licencesExpiringCriticalRatio: 0.25,
      // QuotaExporterDataStale: data older than this many poll intervals.
      staleIntervals: 2,
    },

    // Severity label values: how bad, per band.
    severities: { warning: 'warning', critical: 'critical' },

    // Whether an alert pages around the clock (urgency="high") or is a ticket, notified in
    // business hours (urgency="low"): by impact, not by band. Critical bands of the alerts
    // listed here page; every other alert, critical or not, is a ticket (docs/alerting.md).
    pagingAlerts: [
      'QuotaStorageNearlyFull',  // uploads fail within hours
      'QuotaStorageFillingUp',  // full within 2 days
      'QuotaSubscriptionExpired',  // paid features are off now
      'QuotaKooDriveTenantFrozen',  // nobody can use the drive
      'QuotaExporterDataStale',  // blind on an account that has a critical alert
    ],

    // Where runbook_url points: %s is the alert name in lower case (the section anchor).
    runbookURLPattern: 'https://github.com/quota-exporter/quota-exporter/blob/main/docs/runbooks.md#%s',

    // Dashboards.
    dashboardTags: ['quota-exporter'],
    // Window of the WeDrive API-call panels. Must fit inside the Prometheus retention (15 days
    // by default): a longer range silently undercounts. The 30-day figure is extrapolated.
    apiCallWindowDays: 14,
  },
}
