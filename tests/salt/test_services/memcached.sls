# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: memcached from the distribution, listening on all addresses
# when glance:server:cache lists a member that is not the loopback.
{%- set members = salt['pillar.get']('glance:server:cache:members', []) %}
{%- set remote = members | rejectattr('host', 'in', ['127.0.0.1', 'localhost']) | list %}

test-services-memcached-installed:
  pkg.installed:
    - name: memcached

test-services-memcached-listen:
  file.replace:
    - name: /etc/memcached.conf
    - pattern: '^-l .*$'
    - repl: '-l {{ '0.0.0.0' if remote else '127.0.0.1' }}'
    - append_if_not_found: true
    - require:
      - pkg: test-services-memcached-installed

test-services-memcached-running:
  service.running:
    - name: memcached
    - enable: true
    - watch:
      - file: test-services-memcached-listen
