# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: MariaDB from the distribution. The local root account keeps
# unix_socket authentication; when glance:bootstrap:database has an
# admin_password (the database is reached over the network), root may also
# log in from anywhere with that password, and the server listens on all
# addresses instead of the loopback, and keeps a binary log as a
# replicated site's server does: then Glance's online schema upgrade (db
# expand and contract create and drop triggers) needs
# log_bin_trust_function_creators, set here the way such a site sets it.
# With glance:server:database:ssl on, the server also offers TLS, with the
# certificate the test_services.tls fixture makes.
{%- set bootstrap = salt['pillar.get']('glance:bootstrap:database', {}) %}
{%- set tls = salt['pillar.get']('glance:server:database:ssl:enabled', False) %}
{%- set tls_dir = salt['pillar.get']('test_services:tls:dir', '/etc/ssl/test-ca') %}
{%- set remote_root = bootstrap.get('admin_password') %}
{%- set socket = '/run/mysqld/mysqld.sock' %}

# Salt's MySQL states need Python libraries in Salt's own Python; the
# formula's glance.salt_deps.mysql brings them, as for its bootstrap.
include:
  - glance.salt_deps.mysql
{%- if tls %}
  - test_services.tls
{%- endif %}

test-services-mariadb-installed:
  pkg.installed:
    - pkgs:
      - mariadb-server
      - mariadb-client

test-services-mariadb-config:
  file.managed:
    - name: /etc/mysql/mariadb.conf.d/99-test-services.cnf
    - mode: '0644'
    - contents: |
        [mysqld]
        bind-address = {{ '0.0.0.0' if remote_root else '127.0.0.1' }}
{%- if remote_root %}
        log_bin = mysql-bin
        log_bin_trust_function_creators = 1
{%- endif %}
{%- if tls %}
        ssl_cert = {{ tls_dir }}/server.crt
        ssl_key = /etc/mysql/test-services-tls.key
        ssl_ca = {{ tls_dir }}/ca.crt
{%- endif %}
    - require:
      - pkg: test-services-mariadb-installed
{%- if tls %}

test-services-mariadb-tls-key:
  file.copy:
    - name: /etc/mysql/test-services-tls.key
    - source: {{ tls_dir }}/server.key
    - user: mysql
    - group: mysql
    - mode: '0600'
    - require:
      - pkg: test-services-mariadb-installed
      - cmd: test-services-tls-server-cert
{%- endif %}

test-services-mariadb-running:
  service.running:
    - name: mariadb
    - enable: true
    - watch:
      - file: test-services-mariadb-config
{%- if tls %}
      - file: test-services-mariadb-tls-key
{%- endif %}
{%- if remote_root %}

test-services-mariadb-remote-admin-present:
  mysql_user.present:
    - name: {{ bootstrap.get('admin_user', 'root') | json }}
    - host: '%'
    - password: {{ remote_root | json }}
    - connection_user: root
    - connection_unix_socket: {{ socket }}
    - connection_charset: utf8
    - require:
      - service: test-services-mariadb-running
      - sls: glance.salt_deps.mysql

test-services-mariadb-remote-admin-grants:
  mysql_grants.present:
    - grant: ALL PRIVILEGES
    - database: '*.*'
    - user: {{ bootstrap.get('admin_user', 'root') | json }}
    - host: '%'
    - grant_option: true
    - connection_user: root
    - connection_unix_socket: {{ socket }}
    - connection_charset: utf8
    - require:
      - mysql_user: test-services-mariadb-remote-admin-present
{%- endif %}
