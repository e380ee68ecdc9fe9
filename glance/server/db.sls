# -*- coding: utf-8 -*-
# vim: ft=sls
# Schema and metadata definitions. Only the primary changes the database;
# a secondary waits until the primary has created the schema.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/inifiles.jinja" import inifiles with context %}
{#- An explicit --config-file: glance-manage would otherwise also read the
    distribution's glance-manage.conf, whose [database] may differ. #}
{#- runuser rather than the states' runas: runas makes Salt start its own
    Python as the glance user to read that user's environment, which logs an
    ERROR wherever the glance user cannot run it (a root-only virtualenv) or
    has no login shell; glance-manage needs no login environment. #}
{%- set manage = 'runuser -u ' ~ glance.user ~ ' -- glance-manage --config-file ' ~ inifiles.api.path %}
{%- set schema_current = manage ~ (' db check' if glance.features.db_check else ' db_version') %}

{%- if glance.manage_services %}

include:
  - {{ tplroot }}.server.config

{%- if glance.server.role == 'primary' %}

glance-server-db-sync-cmd-run:
  cmd.run:
    - name: {{ manage }} db_sync
{%-   if glance.features.db_check %}
    - unless: {{ schema_current }}
{%-   else %}
    {#- No db check before Queens: sync when the packages or the database
        settings change. #}
    - onchanges:
      - sls: {{ tplroot }}.server.install
      - file: glance-server-config-api-file-managed
{%-   endif %}
    - require:
      - sls: {{ tplroot }}.server.config

glance-server-db-load-metadefs-cmd-run:
  cmd.run:
    - name: {{ manage }} db_load_metadefs {{ glance.metadefs_dir }}
    - onchanges:
      - cmd: glance-server-db-sync-cmd-run
{%- else %}

glance-server-db-wait-for-schema-cmd-run:
  cmd.run:
    - name: {{ schema_current }}
    - unless: {{ schema_current }}
    - retry:
        attempts: {{ glance.db_wait.attempts }}
        interval: {{ glance.db_wait.interval }}
        until: true
    - require:
      - sls: {{ tplroot }}.server.config
{%- endif %}
{%- else %}

glance-server-db-skipped-test-nop:
  test.nop:
    - name: glance:server:manage_services is false
{%- endif %}
