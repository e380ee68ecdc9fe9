# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: memcached from the distribution, listening on all addresses
# when glance:server:cache lists a member that is not the loopback. With
# glance:server:cache:ssl on, that listener speaks TLS only, with the
# certificate of the test_services.tls fixture, and Keystone's own cache
# (whose client has no TLS) gets a plain listener on the loopback, port
# 11212.
{%- set members = salt['pillar.get']('glance:server:cache:members', []) %}
{%- set remote = members | rejectattr('host', 'in', ['127.0.0.1', 'localhost']) | list %}
{%- set address = '0.0.0.0' if remote else '127.0.0.1' %}
{%- set tls = salt['pillar.get']('glance:server:cache:ssl:enabled', False) %}
{%- set tls_dir = salt['pillar.get']('test_services:tls:dir', '/etc/ssl/test-ca') %}
{%- if tls %}

include:
  - test_services.tls
{%- endif %}

test-services-memcached-installed:
  pkg.installed:
    - name: memcached

test-services-memcached-listen:
  file.replace:
    - name: /etc/memcached.conf
    - pattern: '^-l .*$'
    - repl: '-l {{ address ~ ':11211,notls:127.0.0.1:11212' if tls else address }}'
    - append_if_not_found: true
    - require:
      - pkg: test-services-memcached-installed
{%- if tls %}

# One option a line: Debian's wrapper passes the rest of a line as the
# option's value. memcached reads the key as root before it drops to its
# user, and its unit leaves root no CAP_DAC_OVERRIDE: the key stays root's.
test-services-memcached-tls:
  file.replace:
    - name: /etc/memcached.conf
    - pattern: '^-Z$'
    - repl: '-Z'
    - append_if_not_found: true
    - require:
      - pkg: test-services-memcached-installed

test-services-memcached-tls-certificate:
  file.replace:
    - name: /etc/memcached.conf
    - pattern: '^-o ssl_chain_cert=.*$'
    - repl: '-o ssl_chain_cert={{ tls_dir }}/server.crt,ssl_key={{ tls_dir }}/server.key'
    - append_if_not_found: true
    - require:
      - file: test-services-memcached-tls
      - cmd: test-services-tls-server-cert
{%- endif %}

test-services-memcached-running:
  service.running:
    - name: memcached
    - enable: true
    - watch:
      - file: test-services-memcached-listen
{%- if tls %}
      - file: test-services-memcached-tls
      - file: test-services-memcached-tls-certificate
{%- endif %}
