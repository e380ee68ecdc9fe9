# Pillar of the test_services.ceph fixture, merged over services.sls: its
# presence adds a one-node Ceph to the test services. The pool, the client
# and its key come from the suite's glance pillar (storage), the monitor's
# address from glance:server:ceph:mon_host. Fixed ids, so that every apply
# describes the same cluster.
test_services:
  ceph:
    fsid: f30321d2-ffe9-4ce4-b41f-6cff621ea027
    osd_uuid: 7429ea01-7e89-4253-99e2-2aada7d5c70a
