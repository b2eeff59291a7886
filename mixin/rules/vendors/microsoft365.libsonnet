// Microsoft 365 (Graph subscribedSkus, directory/subscriptions) -> the vendor-neutral quota:*
// series, per SKU: the SKU's skuPartNumber becomes the `item` label, so one SKU's exhausted
// seats are not hidden by another's spare ones, and every alert fires per item.
local item(expr) = 'label_replace(%s, "item", "$1", "sku", "(.+)")' % expr;
{
  vendor: 'microsoft365',
  recording: {
    // The licences that can be assigned: prepaid units enabled plus those in the warning
    // (grace) period, which still work until they are suspended.
    'quota:seats_limit:count': |||
      sum without (sku, state) (
        %s
      )
    ||| % item('microsoft365_sku_prepaid_units{state=~"enabled|warning"}'),
    // The licences assigned (consumedUnits).
    'quota:seats_used:count': 'sum without (sku) (%s)' % item('microsoft365_sku_consumed_units'),
    // The earliest date at which one of the SKU's subscriptions moves to its next state unless
    // renewed (nextLifecycleDateTime); deleted subscriptions are left out, they have nothing
    // left to renew.
    'quota:expiry_timestamp_seconds': |||
      min without (sku, subscription) (
        label_replace(
            microsoft365_subscription_next_lifecycle_timestamp_seconds
          unless ignoring (status) (microsoft365_subscription_status{status="deleted"} == 1),
          "item", "$1", "sku", "(.+)"
        )
      )
    |||,
    // Licences in the warning state: past their end date, still working during the grace
    // period, suspended when it ends.
    'quota:licences_expiring:count': 'sum without (sku, state) (%s)' % item('microsoft365_sku_prepaid_units{state="warning"}'),
    // Licences suspended after the grace period (no longer usable; the data is kept until
    // they are deleted).
    'quota:licences_expired:count': 'sum without (sku, state) (%s)' % item('microsoft365_sku_prepaid_units{state="suspended"}'),
  },
  alerts(c, lib):: [],
}
