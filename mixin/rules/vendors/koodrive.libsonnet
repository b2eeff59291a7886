// Huawei KooDrive -> the vendor-neutral quota:* series, and the alerts on its tenant state.
// KooDrive's packageDownloadExpires (koodrive_package_download_retention_seconds) is a setting,
// not a subscription end date: it has no quota:expiry_timestamp_seconds.
{
  vendor: 'koodrive',
  recording: {
    'quota:storage_capacity:bytes': 'koodrive_capacity_bytes',  // quotaUsed.spaceCapacity
    // Department, personal and group space used.
    'quota:storage_used:bytes': 'sum without (space) (koodrive_used_bytes)',
    'quota:storage_free:bytes': 'koodrive_capacity_bytes - sum without (space) (koodrive_used_bytes)',
    'quota:seats_limit:count': 'koodrive_users_limit',  // userMaxCount
    'quota:seats_used:count': 'koodrive_users',  // userCount
    // 1 while the tenant is frozen (service state "frozen").
    'quota:service_frozen:bool': 'max without (state) (koodrive_service_state{state="frozen"})',
    // The raw service status code (0 normal, 1 frozen, anything else unknown).
    'quota:service_status:code': 'koodrive_service_status_code',
  },
  alerts(c, lib):: [
    lib.alert(
      c,
      'QuotaKooDriveTenantFrozen',
      'critical',
      'quota:service_frozen:bool:held{vendor="koodrive"} == 1',
      'KooDrive tenant of account {{ $labels.account }} is frozen',
      |||
        The KooDrive tenant of account {{ $labels.account }} is frozen: its data
        is kept but users cannot use the service. This usually follows an expired or unpaid
        subscription; contact the tenant's administrator or Huawei Cloud.
      |||,
    ),
    lib.alert(
      c,
      'QuotaKooDriveServiceStatusUnknown',
      'warning',
      'quota:service_status:code:held{vendor="koodrive"} > 1 or quota:service_status:code:held{vendor="koodrive"} < 0',
      'KooDrive tenant of account {{ $labels.account }} reports unknown status {{ $value }}',
      |||
        The KooDrive tenant of account {{ $labels.account }} reports service status
        code {{ $value }}, which is neither 0 (normal) nor 1 (frozen). Check the tenant's state in the
        KooDrive admin console.
      |||,
    ),
  ],
}
