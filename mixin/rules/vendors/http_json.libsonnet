// http_json accounts (APIs declared in the exporter's config, docs/vendors/http_json.md) ->
// the vendor-neutral quota:* series. Each family is one kind of the vocabulary already, with
// the mapping's `item` label where it reads several items, so the rules only rename; where a
// mapping gives two of capacity, used and free, the third is their difference.
{
  vendor: 'http_json',
  recording: {
    'quota:storage_capacity:bytes': 'http_json_storage_capacity_bytes',
    // storage_used outputs, or capacity - free where only those two are mapped (Salesforce
    // reports what remains).
    'quota:storage_used:bytes': |||
      http_json_storage_used_bytes
      or (http_json_storage_capacity_bytes - http_json_storage_free_bytes)
    |||,
    'quota:storage_free:bytes': |||
      http_json_storage_free_bytes
      or (http_json_storage_capacity_bytes - http_json_storage_used_bytes)
    |||,
    // seats_limit outputs, and licences_total ones where no seats_limit output has the item.
    'quota:seats_limit:count': 'http_json_seats_limit or http_json_licenses_limit',
    // seats_used outputs, and licences_used ones where no seats_used output has the item.
    'quota:seats_used:count': 'http_json_seats_used or http_json_licenses_used',
    // expiry outputs (an RFC 3339 date or unix time in the answer).
    'quota:expiry_timestamp_seconds': 'http_json_expiry_timestamp_seconds',
    'quota:licences_expiring:count': 'http_json_licenses_expiring',
    'quota:licences_expired:count': 'http_json_licenses_expired',
  },
  alerts(c, lib):: [],
}
