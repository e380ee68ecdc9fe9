# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixtures: the services a Glance node depends on, installed from the
# distribution on the node itself (single) or on a controller (cluster).
# A one-node Ceph only where the pillar has test_services:ceph.
include:
  - test_services.mariadb
  - test_services.rabbitmq
  - test_services.memcached
  - test_services.keystone
  - test_services.image_source
{%- if salt['pillar.get']('test_services:tls') %}
  - test_services.tls
{%- endif %}
{%- if salt['pillar.get']('test_services:ceph') %}
  - test_services.ceph
{%- endif %}
