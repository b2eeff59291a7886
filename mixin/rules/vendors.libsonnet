// Every vendor the rules know, one file each (named after the vendor's config section).
[
  import 'vendors/wecom_wedrive.libsonnet',
  import 'vendors/koodrive.libsonnet',
  import 'vendors/tencentcloud_cwp.libsonnet',
  import 'vendors/microsoft365.libsonnet',
  import 'vendors/http_json.libsonnet',
]
