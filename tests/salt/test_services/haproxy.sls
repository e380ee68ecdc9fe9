# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: HAProxy from the distribution in front of the Glance API
# nodes of test_services:haproxy:backends (names on the suite's network),
# listening on test_services:haproxy:port. Each node is checked on Glance's
# /healthcheck every second: two failed checks take it out, two passed ones
# bring it back (the rolling orchestration drains a node through that
# check). Idempotent requests that meet a refused connection or an empty
# answer are retried on the other node. With test_services:haproxy:ssl,
# HAProxy terminates TLS with the host's certificate (test_services.tls),
# tells Glance so (X-Forwarded-Proto), and speaks TLS to the nodes, which
# it verifies with the suite's CA, each by its name.
{%- set haproxy = salt['pillar.get']('test_services:haproxy', {}) %}
{%- set backends = haproxy.get('backends', []) %}
{%- set port = haproxy.get('port', 9292) %}
{%- set ssl = haproxy.get('ssl', False) %}
{%- set tls_dir = salt['pillar.get']('test_services:tls:dir', '/etc/ssl/test-ca') %}
{%- set pem = '/etc/haproxy/test-services.pem' %}
{%- if ssl %}

include:
  - test_services.tls
{%- endif %}

# The package's unit binds /dev/log into HAProxy's chroot, which a container
# refuses (status 226/NAMESPACE); this configuration logs to the journal
# through standard output and uses no chroot. The override comes first: the
# package starts HAProxy when it is installed.
test-services-haproxy-unit-override:
  file.managed:
    - name: /etc/systemd/system/haproxy.service.d/test-services.conf
    - makedirs: true
    - mode: '0644'
    - contents: |
        [Service]
        BindReadOnlyPaths=
  cmd.run:
    - name: systemctl daemon-reload && systemctl reset-failed haproxy.service || true
    - onchanges:
      - file: test-services-haproxy-unit-override

test-services-haproxy-installed:
  pkg.installed:
    - name: haproxy
    - require:
      - cmd: test-services-haproxy-unit-override

{%- if ssl %}

# HAProxy reads the certificate and its key from one file.
test-services-haproxy-pem:
  cmd.run:
    - name: >-
        umask 077 && cat {{ tls_dir }}/server.crt {{ tls_dir }}/server.key > {{ pem }}.part &&
        mv {{ pem }}.part {{ pem }}
    - unless: cat {{ tls_dir }}/server.crt {{ tls_dir }}/server.key | cmp -s - {{ pem }}
    - require:
      - pkg: test-services-haproxy-installed
      - cmd: test-services-tls-server-cert
{%- endif %}

test-services-haproxy-config:
  file.managed:
    - name: /etc/haproxy/haproxy.cfg
    - mode: '0644'
    - contents: |
        global
            log stdout format raw local0 notice
            user haproxy
            group haproxy
            daemon

        defaults
            log global
            mode http
            option httplog
            option redispatch
            retries 3
            retry-on conn-failure empty-response response-timeout 503
            timeout connect 2s
            timeout client 120s
            timeout server 120s

        frontend glance-api
        {%- if ssl %}
            bind 0.0.0.0:{{ port }} ssl crt {{ pem }}
            http-request set-header X-Forwarded-Proto https
        {%- else %}
            bind 0.0.0.0:{{ port }}
        {%- endif %}
            default_backend glance-api

        backend glance-api
            balance roundrobin
            option httpchk GET /healthcheck
            http-check expect status 200
            default-server inter 1s fall 2 rise 2 init-addr last,libc,none
        {%- for backend in backends %}
        {%-   if ssl %}
            server {{ backend }} {{ backend }}:9292 check ssl verify required ca-file {{ tls_dir }}/ca.crt verifyhost {{ backend }}
        {%-   else %}
            server {{ backend }} {{ backend }}:9292 check
        {%-   endif %}
        {%- endfor %}
    - require:
      - pkg: test-services-haproxy-installed

test-services-haproxy-running:
  service.running:
    - name: haproxy
    - enable: true
    - watch:
      - file: test-services-haproxy-config
      - file: test-services-haproxy-unit-override
{%- if ssl %}
      - cmd: test-services-haproxy-pem
{%- endif %}
