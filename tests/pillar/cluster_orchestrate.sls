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
# HAProxy on the controller (test_services.haproxy) in front of both nodes.
test_services:
  haproxy:
    port: 9292
    backends:
      - glance-1
      - glance-2
