# -*- coding: utf-8 -*-
# vim: ft=sls
# Schema and metadata definitions. Only the primary changes the database;
# a secondary waits until the primary has created the schema.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{#- An explicit --config-file: glance-manage would otherwise also read the
    distribution's glance-manage.conf, whose [database] may differ. #}
{#- runuser rather than the states' runas: runas makes Salt start its own
    Python as the glance user to read that user's environment, which logs an
    ERROR wherever the glance user cannot run it (a root-only virtualenv) or
    has no login shell; glance-manage needs no login environment. #}
{%- set manage = 'runuser -u ' ~ glance.user ~ ' -- ' ~ glance.bin_dir ~ '/glance-manage --config-file ' ~ glance.api_config %}
{#- From Queens, glance_db (_states/glance_db.py) asks whether the schema is
    current (files/schema_current.py, `glance-manage db check` when in
    doubt) and syncs or waits accordingly; with database:contract false
    (a rolling upgrade) it leaves the contract for later. #}
{%- set schema = {'name': glance.api_config, 'user': glance.user, 'python': glance.python,
                  'check': 'salt://' ~ tplroot ~ '/files/schema_current.py',
                  'contract': glance.server.database.contract} %}

{%- if glance.manage_services %}

include:
  - {{ tplroot }}.server.config
{%- if glance.server.role == 'primary' %}
{%-   if glance.features.db_check %}

glance-server-db-schema-glance-db-synced:
  glance_db.synced:
{%-     for key, value in schema|dictsort %}
    - {{ key }}: {{ value|json }}
{%-     endfor %}
    - manage: {{ glance.bin_dir ~ '/glance-manage' }}
    - require:
      - sls: {{ tplroot }}.server.config
{%-   else %}

{#- No db check before Queens: sync when the packages or the database
    settings change. #}
glance-server-db-sync-cmd-run:
  cmd.run:
    - name: {{ manage }} db_sync
    - onchanges:
      - sls: {{ tplroot }}.server.install
      - file: glance-server-config-api-file-managed
    - require:
      - sls: {{ tplroot }}.server.config
{%-   endif %}

glance-server-db-load-metadefs-cmd-run:
  cmd.run:
    - name: {{ manage }} db_load_metadefs {{ glance.metadefs_dir }}
    - onchanges:
{%-   if glance.features.db_check %}
      - glance_db: glance-server-db-schema-glance-db-synced
{%-   else %}
      - cmd: glance-server-db-sync-cmd-run
{%-   endif %}
{%- elif glance.features.db_check %}

glance-server-db-wait-for-schema-glance-db-current:
  glance_db.current:
{%-   for key, value in schema|dictsort %}
    - {{ key }}: {{ value|json }}
{%-   endfor %}
    - retry:
        attempts: {{ glance.db_wait.attempts }}
        interval: {{ glance.db_wait.interval }}
        until: true
    - require:
      - sls: {{ tplroot }}.server.config
{%- else %}

{#- Before Queens a secondary cannot tell a current schema from an old one:
    it waits until the schema has a version. #}
glance-server-db-wait-for-schema-cmd-run:
  cmd.run:
    - name: {{ manage }} db_version
    - unless: {{ manage }} db_version
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
