# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: a CA made on the host, and a certificate it signs for the
# names in test_services:tls:names (DNS names and IP addresses; the first
# is the subject), as a site's PKI would leave them for the formula's
# bind:ssl:*_file. The CA also joins the system's trust store, so that the
# host's clients (curl, openstack, Tempest) verify against it.
{%- set tls = salt['pillar.get']('test_services:tls', {}) %}
{%- set dir = tls.get('dir', '/etc/ssl/test-ca') %}
{%- set names = tls.get('names', ['localhost', '127.0.0.1']) %}
{%- set san = [] %}
{%- for name in names %}
{%-   do san.append(('IP:' if name | is_ip else 'DNS:') ~ name) %}
{%- endfor %}

test-services-tls-openssl-installed:
  pkg.installed:
    - pkgs: [openssl, ca-certificates]

test-services-tls-directory:
  file.directory:
    - name: {{ dir }}
    - mode: '0755'

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
      - cmd: test-services-tls-ca
      - file: test-services-tls-server-extensions

test-services-tls-ca-trusted:
  file.copy:
    - name: /usr/local/share/ca-certificates/glance-formula-test-ca.crt
    - source: {{ dir }}/ca.crt
    - require:
      - cmd: test-services-tls-ca
  cmd.run:
    - name: update-ca-certificates
    - onchanges:
      - file: test-services-tls-ca-trusted

# The key as the glance group reads it (uWSGI runs as glance), once the
# packages have made the group.
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
