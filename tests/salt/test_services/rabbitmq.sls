# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: RabbitMQ from the distribution, with the user, password and
# virtual host of glance:server:message_queue and full permissions for that
# user. Each further port listed in message_queue:members gets an
# independent node of its own on this host (its own systemd unit, node
# name, distribution port and data directory), with the same user and
# virtual host. Passwords reach rabbitmqctl through the environment and
# standard input, never on a command line. The node is chosen with
# RABBITMQ_NODENAME: with -n, RabbitMQ 4.0's rabbitmqctl never finishes
# reading a password from standard input. With message_queue:ssl on (one
# node only), the node speaks AMQP over TLS only, on the pillar's port, with
# the certificate the test_services.tls fixture makes.
{%- set mq = salt['pillar.get']('glance:server:message_queue', {}) %}
{%- set tls = (mq.get('ssl') or {}).get('enabled', False) %}
{%- set tls_dir = salt['pillar.get']('test_services:tls:dir', '/etc/ssl/test-ca') %}
{%- set members = mq.get('members') or [{'host': mq.get('host', '127.0.0.1'), 'port': mq.get('port', 5672)}] %}
{%- set ports = [] %}
{%- for member in members %}
{%-   set port = member.get('port', 5672) | int %}
{%-   if port not in ports %}
{%-     do ports.append(port) %}
{%-   endif %}
{%- endfor %}
{%- if 5672 in ports %}
{%-   do ports.remove(5672) %}
{%- endif %}
{%- set loopback_only = members | rejectattr('host', 'in', ['127.0.0.1', 'localhost']) | list | length == 0 %}
{%- set user = mq.get('user', 'openstack') %}
{%- set password = mq.get('password') %}
{%- set vhost = mq.get('virtual_host', '/') %}
{%- set host = grains['host'] %}
{%- set nodes = [{'id': 'default', 'name': 'rabbit@' ~ host, 'unit': 'rabbitmq-server'}] %}
{%- for port in ports %}
{%-   do nodes.append({'id': port, 'name': 'rabbit' ~ port ~ '@' ~ host,
                       'unit': 'rabbitmq-server-' ~ port, 'port': port}) %}
{%- endfor %}

{%- if tls %}

include:
  - test_services.tls
{%- endif %}

test-services-rabbitmq-installed:
  pkg.installed:
    - name: rabbitmq-server

test-services-rabbitmq-env:
  file.managed:
    - name: /etc/rabbitmq/rabbitmq-env.conf
    - mode: '0644'
    - contents: |
        # Managed by the test_services.rabbitmq fixture.
{%- if loopback_only and not tls %}
        NODE_IP_ADDRESS=127.0.0.1
{%- endif %}
    - require:
      - pkg: test-services-rabbitmq-installed
{%- if tls %}

test-services-rabbitmq-tls-key:
  file.copy:
    - name: /etc/rabbitmq/test-services-tls.key
    - source: {{ tls_dir }}/server.key
    - user: rabbitmq
    - group: rabbitmq
    - mode: '0600'
    - require:
      - pkg: test-services-rabbitmq-installed
      - cmd: test-services-tls-server-cert

test-services-rabbitmq-tls-config:
  file.managed:
    - name: /etc/rabbitmq/rabbitmq.conf
    - mode: '0644'
    - contents: |
        # Managed by the test_services.rabbitmq fixture: AMQP over TLS only.
        listeners.tcp = none
        listeners.ssl.default = {{ '127.0.0.1:' if loopback_only else '' }}{{ mq.get('port', 5672) }}
        ssl_options.cacertfile = {{ tls_dir }}/ca.crt
        ssl_options.certfile = {{ tls_dir }}/server.crt
        ssl_options.keyfile = /etc/rabbitmq/test-services-tls.key
        ssl_options.verify = verify_none
        ssl_options.fail_if_no_peer_cert = false
    - require:
      - pkg: test-services-rabbitmq-installed
{%- endif %}
{%- for node in nodes %}
{%-   if node.port is defined %}

test-services-rabbitmq-{{ node.id }}-unit:
  file.managed:
    - name: /etc/systemd/system/{{ node.unit }}.service
    - mode: '0644'
    - contents: |
        [Unit]
        Description=RabbitMQ node {{ node.name }}
        After=network.target epmd.socket rabbitmq-server.service
        Wants=network.target epmd.socket

        [Service]
        Type=notify
        User=rabbitmq
        Group=rabbitmq
        UMask=0027
        NotifyAccess=all
        TimeoutStartSec=600
        LimitNOFILE=65536
        Restart=on-failure
        RestartSec=10
        WorkingDirectory=/var/lib/rabbitmq
        Environment=RABBITMQ_NODENAME={{ node.name }}
        Environment=RABBITMQ_NODE_PORT={{ node.port }}
        Environment=RABBITMQ_DIST_PORT={{ node.port + 20000 }}
        Environment=RABBITMQ_MNESIA_BASE=/var/lib/rabbitmq/node-{{ node.port }}
        Environment=RABBITMQ_LOG_BASE=/var/log/rabbitmq/node-{{ node.port }}
        ExecStart=/usr/lib/rabbitmq/bin/rabbitmq-server
        ExecStop=/usr/lib/rabbitmq/bin/rabbitmqctl stop
        SuccessExitStatus=69

        [Install]
        WantedBy=multi-user.target
    - require:
      - pkg: test-services-rabbitmq-installed

test-services-rabbitmq-{{ node.id }}-dirs:
  file.directory:
    - names:
      - /var/lib/rabbitmq/node-{{ node.port }}
      - /var/log/rabbitmq/node-{{ node.port }}
    - user: rabbitmq
    - group: rabbitmq
    - mode: '0750'
    - require:
      - pkg: test-services-rabbitmq-installed
{%-   endif %}

test-services-rabbitmq-{{ node.id }}-running:
  service.running:
    - name: {{ node.unit }}
    - enable: true
    - watch:
      - file: test-services-rabbitmq-env
{%-   if tls %}
      - file: test-services-rabbitmq-tls-key
      - file: test-services-rabbitmq-tls-config
{%-   endif %}
{%-   if node.port is defined %}
      - file: test-services-rabbitmq-{{ node.id }}-unit
    - require:
      - file: test-services-rabbitmq-{{ node.id }}-dirs
{%-   endif %}

test-services-rabbitmq-{{ node.id }}-user:
  cmd.run:
    - name: printf '%s' "$TEST_SERVICES_MQ_PASSWORD" | rabbitmqctl add_user {{ user }}
    - env:
      - RABBITMQ_NODENAME: {{ node.name }}
      - TEST_SERVICES_MQ_PASSWORD: {{ password | json }}
    - unless: rabbitmqctl -q list_users --no-table-headers | cut -f1 | grep -qxF {{ user }}
    - require:
      - service: test-services-rabbitmq-{{ node.id }}-running

test-services-rabbitmq-{{ node.id }}-password:
  cmd.run:
    - name: printf '%s' "$TEST_SERVICES_MQ_PASSWORD" | rabbitmqctl change_password {{ user }}
    - env:
      - RABBITMQ_NODENAME: {{ node.name }}
      - TEST_SERVICES_MQ_PASSWORD: {{ password | json }}
    - unless: printf '%s' "$TEST_SERVICES_MQ_PASSWORD" | rabbitmqctl authenticate_user {{ user }}
    - require:
      - cmd: test-services-rabbitmq-{{ node.id }}-user

test-services-rabbitmq-{{ node.id }}-vhost:
  cmd.run:
    - name: rabbitmqctl add_vhost {{ vhost }}
    - env:
      - RABBITMQ_NODENAME: {{ node.name }}
    - unless: rabbitmqctl -q list_vhosts --no-table-headers | grep -qxF {{ vhost }}
    - require:
      - service: test-services-rabbitmq-{{ node.id }}-running

test-services-rabbitmq-{{ node.id }}-permissions:
  cmd.run:
    - name: rabbitmqctl set_permissions -p {{ vhost }} {{ user }} '.*' '.*' '.*'
    - env:
      - RABBITMQ_NODENAME: {{ node.name }}
    - unless: >-
        rabbitmqctl -q list_user_permissions --no-table-headers {{ user }}
        | grep -qxF "$(printf '%s\t.*\t.*\t.*' {{ vhost }})"
    - require:
      - cmd: test-services-rabbitmq-{{ node.id }}-user
      - cmd: test-services-rabbitmq-{{ node.id }}-vhost
{%- endfor %}
