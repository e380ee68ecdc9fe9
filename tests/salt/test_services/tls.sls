# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: a CA, and a certificate it signs for the names in
# test_services:tls:names (DNS names and IP addresses; the first is the
# subject), as a site's PKI would leave them for the formula's
# bind:ssl:*_file. The CA is made on the host, or, for a suite whose hosts
# must trust each other, given by test_services:tls:ca (cert and key, PEM:
# tests/pillar/test_ca.sls), and then a host with no names gets the CA
# only. The CA also joins the system's trust store, so that the host's
# clients (curl, openstack, Tempest) verify against it.
{%- set tls = salt['pillar.get']('test_services:tls', {}) %}
{%- set dir = tls.get('dir', '/etc/ssl/test-ca') %}
{%- set given_ca = tls.get('ca') %}
{%- set names = tls.get('names', [] if given_ca else ['localhost', '127.0.0.1']) %}
{%- set san = [] %}
{%- for name in names %}
{%-   do san.append(('IP:' if name | is_ip else 'DNS:') ~ name) %}
{%- endfor %}
{%- if names or not given_ca %}

test-services-tls-openssl-installed:
  pkg.installed:
    - pkgs: [openssl, ca-certificates]
{%- endif %}

test-services-tls-directory:
  file.directory:
    - name: {{ dir }}
    - mode: '0755'

{%- if given_ca %}

test-services-tls-ca:
  file.managed:
    - name: {{ dir }}/ca.crt
    - contents_pillar: test_services:tls:ca:cert
    - mode: '0644'
    - require:
      - file: test-services-tls-directory
{%-   if names %}

test-services-tls-ca-key:
  file.managed:
    - name: {{ dir }}/ca.key
    - contents_pillar: test_services:tls:ca:key
    - mode: '0600'
    - show_changes: false
    - require:
      - file: test-services-tls-directory
    - require_in:
      - cmd: test-services-tls-server-cert
{%-   endif %}
{%- else %}

test-services-tls-ca:
  cmd.run:
    - name: >-
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=Glance formula test CA'
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
        -keyout {{ dir }}/ca.key -out {{ dir }}/ca.crt.part &&
        chmod 0600 {{ dir }}/ca.key && mv {{ dir }}/ca.crt.part {{ dir }}/ca.crt
    - creates: {{ dir }}/ca.crt
    - require:
      - pkg: test-services-tls-openssl-installed
      - file: test-services-tls-directory
{%- endif %}
{%- if names %}

# What Python 3.13's strict verification asks of a server certificate:
# the names, the usages and the key identifiers.
test-services-tls-server-extensions:
  file.managed:
    - name: {{ dir }}/server.ext
    - contents: |
        subjectAltName={{ san | join(',') }}
        extendedKeyUsage=serverAuth
        keyUsage=critical,digitalSignature,keyEncipherment
        authorityKeyIdentifier=keyid
        subjectKeyIdentifier=hash
    - require:
      - file: test-services-tls-directory

test-services-tls-server-cert:
  cmd.run:
    - name: >-
        openssl req -newkey rsa:2048 -nodes -subj '/CN={{ names[0] }}'
        -keyout {{ dir }}/server.key -out {{ dir }}/server.csr &&
        chmod 0600 {{ dir }}/server.key &&
        openssl x509 -req -in {{ dir }}/server.csr -CA {{ dir }}/ca.crt -CAkey {{ dir }}/ca.key
        -CAcreateserial -days 825 -extfile {{ dir }}/server.ext -out {{ dir }}/server.crt.part &&
        mv {{ dir }}/server.crt.part {{ dir }}/server.crt
    - creates: {{ dir }}/server.crt
    - require:
      - pkg: test-services-tls-openssl-installed
      - {{ 'file' if given_ca else 'cmd' }}: test-services-tls-ca
      - file: test-services-tls-server-extensions
{%- endif %}

test-services-tls-ca-trusted:
  file.copy:
    - name: /usr/local/share/ca-certificates/glance-formula-test-ca.crt
    - source: {{ dir }}/ca.crt
    - require:
      - {{ 'file' if given_ca else 'cmd' }}: test-services-tls-ca
  cmd.run:
    - name: update-ca-certificates
    - onchanges:
      - file: test-services-tls-ca-trusted

{%- if names and salt['pillar.get']('glance:server:bind:ssl:key_file') == dir ~ '/glance-api.key' %}

# The key as the glance group reads it (uWSGI runs as glance), once the
# packages have made the group, where the pillar's bind:ssl names it.
test-services-tls-key-for-glance:
  file.copy:
    - name: {{ dir }}/glance-api.key
    - source: {{ dir }}/server.key
    - group: glance
    - mode: '0640'
    - require:
      - cmd: test-services-tls-server-cert
      - sls: glance.server.install
    - require_in:
      - sls: glance.server.config
{%- endif %}
