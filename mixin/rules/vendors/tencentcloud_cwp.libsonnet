// Tencent Cloud CWP (host security licences) -> the vendor-neutral quota:* series.
{
  vendor: 'tencentcloud_cwp',
  recording: {
    // Licences that can be bound to a host: used + available, at most the unexpired ones.
    // Tencent documents AvailableLicenseCnt only as "available licences": read as the licences
    // still free to bind (the console offers to bind one exactly when it is above 0), bound +
    // free is the limit; read as all usable licences, it already includes the bound ones and
    // used + available counts them twice. Licences that can be bound are never more than the
    // unexpired ones, so capping at NotExpiredLicenseCnt is right in the first reading and close
    // in the second. LicenseCnt also counts isolated and expired licences, which cannot be used.
    // Without NotExpiredLicenseCnt the sum is used as it is.
    'quota:seats_limit:count': |||
      (
          (tencentcloud_cwp_licenses_used + tencentcloud_cwp_licenses_available)
        <= tencentcloud_cwp_licenses_unexpired
      )
      or tencentcloud_cwp_licenses_unexpired
      or (tencentcloud_cwp_licenses_used + tencentcloud_cwp_licenses_available)
    |||,
    'quota:seats_used:count': 'tencentcloud_cwp_licenses_used',  // UsedLicenseCnt
    // NearExpiryLicenseCnt: expiring within 15 days (Tencent's fixed window).
    'quota:licences_expiring:count': 'tencentcloud_cwp_licenses_expiring',
    // ExpireLicenseCnt: expired and still on the account (deleted records are not counted).
    'quota:licences_expired:count': 'tencentcloud_cwp_licenses_expired',
  },
  alerts(c, lib):: [],
}
