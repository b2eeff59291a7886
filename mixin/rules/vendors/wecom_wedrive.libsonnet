// WeCom WeDrive (企业微信 微盘) -> the vendor-neutral quota:* series.
// A vendor file lists, for each quota:* series the vendor reports, the expression computing it
// from the vendor's own metrics (docs/metrics.md). Alerts specific to the vendor go in `alerts`.
// Adding a vendor: copy this file, name it after the vendor's config section, and list it in
// rules/vendors.libsonnet.
{
  vendor: 'wecom_wedrive',
  recording: {
    // Capacity of the whole corporation (pool="all"; the VIP pool is a part of it and is on
    // the WeDrive dashboard only).
    'quota:storage_capacity:bytes': 'sum without (pool) (wecom_wedrive_capacity_bytes{pool="all"})',
    // capacity - free, pool="all". WeDrive returns the free space (rest_capacity_for_all) only
    // to some apps: accounts without it have no used/free/ratio series at all.
    'quota:storage_used:bytes': |||
      sum without (pool) (
        wecom_wedrive_capacity_bytes{pool="all"} - wecom_wedrive_capacity_free_bytes{pool="all"}
      )
    |||,
    'quota:storage_free:bytes': 'sum without (pool) (wecom_wedrive_capacity_free_bytes{pool="all"})',
    // VIP (pro) seats bought (total_vip_acct_num) and in use (use_vip_acct_num).
    'quota:seats_limit:count': 'wecom_wedrive_vip_seats_limit',
    'quota:seats_used:count': 'wecom_wedrive_vip_seats_used',
    // Pro edition expiry (pro_expire_time); 0 (never had pro) is left out.
    'quota:expiry_timestamp_seconds': 'wecom_wedrive_pro_expiry_timestamp_seconds > 0',
  },
  alerts(c, lib):: [],
}
