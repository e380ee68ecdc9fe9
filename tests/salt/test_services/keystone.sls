# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: Keystone from the distribution, on MariaDB, with fernet
# tokens, bootstrapped with the admin password and region of the glance
# pillar (glance:bootstrap:identity, glance:server:identity), served on
# port 5000 by the package's own service. Debian runs the Keystone API under
# uWSGI (keystone.service starts /etc/init.d/keystone systemd-start, which
# execs uwsgi with /etc/keystone/keystone-uwsgi.ini on :5000). With
# glance:server:identity:protocol https, on HTTPS: the package's init script
# serves https-socket when /etc/keystone/ssl holds a key and a certificate,
# here those the test_services.tls fixture makes.
{%- set ks = salt['pillar.get']('test_services:keystone', {}) %}
{%- set db = ks.get('database', {}) %}
{%- set db_name = db.get('name', 'keystone') %}
{%- set db_user = db.get('user', 'keystone') %}
{%- set identity = salt['pillar.get']('glance:server:identity', {}) %}
{%- set bootstrap = salt['pillar.get']('glance:bootstrap:identity', {}) %}
{%- set region = identity.get('region', 'RegionOne') %}
{%- set https = identity.get('protocol') == 'https' %}
{%- set base_url = '%s://%s:%s' | format('https' if https else 'http', identity.get('host', '127.0.0.1'),
                                         identity.get('port', 5000)) %}
{%- set public_url = base_url ~ '/v3/' %}
{%- set tls_dir = salt['pillar.get']('test_services:tls:dir', '/etc/ssl/test-ca') %}
{%- set socket = '/run/mysqld/mysqld.sock' %}
{#- The loopback listener without TLS (test_services.memcached). #}
{%- set memcached_port = 11212 if salt['pillar.get']('glance:server:cache:ssl:enabled', False) else 11211 %}
{#- Used as it is: see tests/pillar/services.sls for the characters allowed. #}
{%- set connection = 'mysql+pymysql://%s:%s@localhost/%s?unix_socket=%s' | format(
      db_user, db.password, db_name, socket) %}

include:
  - test_services.mariadb
  - test_services.memcached
{%- if https %}
  - test_services.tls
{%- endif %}

test-services-keystone-database:
  mysql_database.present:
    - name: {{ db_name }}
    - connection_user: root
    - connection_unix_socket: {{ socket }}
    - connection_charset: utf8
    - require:
      - service: test-services-mariadb-running
      - sls: glance.salt_deps.mysql

test-services-keystone-database-user:
  mysql_user.present:
    - name: {{ db_user }}
    - host: localhost
    - password: {{ db.password | json }}
    - connection_user: root
    - connection_unix_socket: {{ socket }}
    - connection_charset: utf8
    - require:
      - mysql_database: test-services-keystone-database

test-services-keystone-database-grants:
  mysql_grants.present:
    - grant: ALL PRIVILEGES
    - database: {{ db_name }}.*
    - user: {{ db_user }}
    - host: localhost
    - connection_user: root
    - connection_unix_socket: {{ socket }}
    - connection_charset: utf8
    - require:
      - mysql_user: test-services-keystone-database-user

test-services-keystone-installed:
  pkg.installed:
    - pkgs:
      - keystone
      - python3-pymysql

# The package starts keystone before it has a database or fernet keys; its
# uWSGI workers then fail and respawn in a loop, and stopping it takes
# systemd's stop timeout twice (30 s: in these containers systemd does not
# see its processes gone). A runtime mask would fail the package's own
# `systemctl enable`; this condition, in place before the package, keeps the
# unit from starting until the fernet keys exist, so
# test-services-keystone-running starts it once, configured.
test-services-keystone-waits-for-its-keys:
  file.managed:
    - name: /etc/systemd/system/keystone.service.d/wait-for-keys.conf
    - makedirs: true
    - contents: |
        [Unit]
        ConditionPathExists=/etc/keystone/fernet-keys/0
    - require_in:
      - pkg: test-services-keystone-installed

test-services-keystone-config:
  file.managed:
    - name: /etc/keystone/keystone.conf
    - user: root
    - group: keystone
    - mode: '0640'
    - show_changes: false
    - contents: |
        # Managed by the test_services.keystone fixture.
        [DEFAULT]
        log_dir = /var/log/keystone
        log_file = keystone.log

        [database]
        connection = {{ connection }}

        # bcrypt at its lowest cost, for this test fixture only: at Keystone's
        # default (12) each password check and each new user costs about
        # 0.25 s of CPU, and Tempest's dynamic credentials and the tests'
        # clients make some 200 of them per suite. Not a setting for a
        # Keystone that guards real passwords.
        [identity]
        password_hash_rounds = 4

        [token]
        provider = fernet

        # Cached in memcached, as deployments run Keystone: without it each
        # request validates its token against the database, and Tempest's
        # image tests spend most of their time waiting on Keystone. The
        # backend's client, python3-memcache, comes with keystone.
        [cache]
        enabled = true
        backend = dogpile.cache.memcached
        memcache_servers = 127.0.0.1:{{ memcached_port }}
    - require:
      - pkg: test-services-keystone-installed

test-services-keystone-uwsgi-processes:
  file.replace:
    - name: /etc/keystone/keystone-uwsgi.ini
    - pattern: '^processes = .*$'
    - repl: 'processes = {{ ks.get('processes', 2) }}'
    - require:
      - pkg: test-services-keystone-installed

test-services-keystone-db-sync:
  cmd.run:
    # runuser, not runas: see glance/server/db.sls.
    - name: runuser -u keystone -- keystone-manage db_sync
    - unless: runuser -u keystone -- keystone-manage db_sync --check
    - require:
      - file: test-services-keystone-config
      - mysql_grants: test-services-keystone-database-grants

{%- for kind in ['fernet', 'credential'] %}

test-services-keystone-{{ kind }}-setup:
  cmd.run:
    - name: keystone-manage {{ kind }}_setup --keystone-user keystone --keystone-group keystone
    - creates: /etc/keystone/{{ kind }}-keys/0
    - require:
      # After db_sync, which creates the log file as the keystone user.
      - cmd: test-services-keystone-db-sync
{%- endfor %}

test-services-keystone-bootstrap:
  cmd.run:
    - name: keystone-manage bootstrap
    - env:
      - OS_BOOTSTRAP_USERNAME: {{ bootstrap.get('admin_user', 'admin') | json }}
      - OS_BOOTSTRAP_PASSWORD: {{ bootstrap.get('admin_password') | json }}
      - OS_BOOTSTRAP_PROJECT_NAME: {{ bootstrap.get('admin_project', 'admin') | json }}
      - OS_BOOTSTRAP_REGION_ID: {{ region | json }}
      - OS_BOOTSTRAP_ADMIN_URL: {{ public_url | json }}
      - OS_BOOTSTRAP_INTERNAL_URL: {{ public_url | json }}
      - OS_BOOTSTRAP_PUBLIC_URL: {{ public_url | json }}
    # Done once the admin user and the identity endpoints of the region exist.
    - unless: >-
        test "$(mysql -N -B {{ db_name }} -e
        "SELECT COUNT(*) FROM local_user WHERE name = '{{ bootstrap.get('admin_user', 'admin') }}';
        SELECT COUNT(*) FROM endpoint JOIN service ON endpoint.service_id = service.id
        WHERE service.type = 'identity' AND endpoint.region_id = '{{ region }}'" | paste -s -d ' ')"
        = '1 3'
    - require:
      - cmd: test-services-keystone-db-sync
      - cmd: test-services-keystone-fernet-setup
      - cmd: test-services-keystone-credential-setup

{%- if https %}

{#- Where the package's init script looks: the first *.pem of ssl/private
    and the first *.crt of ssl/public. #}
{%-   for kind, source, name, mode in [('private', 'server.key', 'keystone.pem', '0600'),
                                        ('public', 'server.crt', 'keystone.crt', '0644')] %}

test-services-keystone-tls-{{ kind }}:
  file.copy:
    - name: /etc/keystone/ssl/{{ kind }}/{{ name }}
    - source: {{ tls_dir }}/{{ source }}
    - makedirs: true
    - user: keystone
    - group: keystone
    - mode: '{{ mode }}'
    - require:
      - pkg: test-services-keystone-installed
      - cmd: test-services-tls-server-cert
{%-   endfor %}
{%- endif %}

test-services-keystone-running:
  service.running:
    - name: keystone
    - enable: true
    - require:
      - file: test-services-keystone-waits-for-its-keys
      - cmd: test-services-keystone-bootstrap
      - service: test-services-memcached-running
    - watch:
      - file: test-services-keystone-config
      - file: test-services-keystone-uwsgi-processes
{%- if https %}
      - file: test-services-keystone-tls-private
      - file: test-services-keystone-tls-public
{%- endif %}

{#- A probe, not http.wait_for_successful_query: that state never succeeds
    under test=True and waits its whole timeout in every dry run. #}
{%- set keystone_probe = "python3 -c \"import urllib.request; urllib.request.urlopen('" ~ ('https' if https else 'http')
                          ~ "://127.0.0.1:" ~ identity.get('port', 5000) ~ "/v3', timeout=5)\"" %}
test-services-keystone-answers:
  cmd.run:
    - name: for attempt in $(seq 90); do {{ keystone_probe }} && exit 0; sleep 2; done; exit 1
    - unless: {{ keystone_probe }}
    - require:
      - service: test-services-keystone-running
{%- if https %}
      # The host's clients verify Keystone with the system's CAs.
      - cmd: test-services-tls-ca-trusted
{%- endif %}
