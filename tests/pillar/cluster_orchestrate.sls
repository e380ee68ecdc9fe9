# The cluster's orchestration (glance/orchestrate), on the salt-master that
# runs on the controller: the primary bootstraps the database and Keystone,
# then the secondary joins; the rolling update takes both API nodes, whose
# health the controller's HAProxy checks too.
glance_orchestrate:
  bootstrap: glance-1
  primary: glance-1
  secondaries:
    - glance-2
  api_nodes:
    - glance-1
    - glance-2
  # The nodes serve HTTPS (bind:ssl); the master verifies them with the
  # host's CA bundle, where the suite's CA is.
  health_url: "https://{minion}:9292/healthcheck"
# HAProxy on the controller (test_services.haproxy) in front of both nodes,
# terminating TLS with the controller's certificate (controller_tls.sls)
# and speaking TLS to the nodes, verified with the suite's CA.
test_services:
  haproxy:
    port: 9292
    ssl: true
    backends:
      - glance-1
      - glance-2
