# -*- coding: utf-8 -*-
# vim: ft=sls
#
# One-time prerequisites of a Glance deployment: the database and the
# registration in Keystone. Optional: include them where the database server
# and Keystone are reachable with administrator credentials.
include:
  - .database
  - .keystone
