# -*- coding: utf-8 -*-
# vim: ft=sls
# Services: enabled, running, restarted when their configuration changes,
# started only once the schema exists.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- set services = [glance.services.api] %}
{%- if glance.features.registry %}
{%-   do services.append(glance.services.registry) %}
{%- endif %}
{%- if glance.server.internal_api.enabled %}
{%-   do services.append(glance.services.api_internal) %}
{%- endif %}

{%- if glance.manage_services %}

include:
  - {{ tplroot }}.server.install
  - {{ tplroot }}.server.config
  - {{ tplroot }}.server.storage
  - {{ tplroot }}.server.db

{%- for service in services %}

glance-server-service-{{ service }}-running:
  service.running:
    - name: {{ service }}
    - enable: true
    {#- The runtime mask of glance.server.install, on a fresh host. Only
        that one: Salt's check for a persistent mask logs an error when the
        unit is a file in /etc/systemd/system (the formula's uWSGI unit). #}
    - unmask_runtime: true
    - watch:
      {#- A new virtualenv (PyPI) or new packages: the code changed. #}
      - sls: {{ tplroot }}.server.install
      - sls: {{ tplroot }}.server.config
      - sls: {{ tplroot }}.server.storage
    - require:
      - sls: {{ tplroot }}.server.db
{%- endfor %}
{%- if glance.install.method == 'pypi' %}

{#- The previous release's virtualenv goes once the new one serves: until
    then it is the way back (install:keep_previous keeps it for good). #}
glance-server-service-previous-releases-glance-venv-absent:
  glance_venv.previous_absent:
    - name: {{ glance.install.venv }}
    - keep: {{ glance.install.keep_previous|json }}
    - require:
{%-   for service in services %}
      - service: glance-server-service-{{ service }}-running
{%-   endfor %}
{%- endif %}
{%- if not glance.server.internal_api.enabled and salt['file.file_exists'](glance.internal_api_unit) %}

{#- An internal API a previous run set up goes when the pillar drops it
    (from 2024.2 the location API takes its place). #}
glance-server-service-{{ glance.services.api_internal }}-dead:
  service.dead:
    - name: {{ glance.services.api_internal }}
    - enable: false

glance-server-service-internal-api-files-absent:
  file.absent:
    - names:
      - {{ glance.internal_api_unit }}
      - {{ glance.internal_api_config }}
    - require:
      - service: glance-server-service-{{ glance.services.api_internal }}-dead

glance-server-service-internal-api-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: glance-server-service-internal-api-files-absent
{%- endif %}
{%- else %}

glance-server-service-skipped-test-nop:
  test.nop:
    - name: glance:server:manage_services is false
{%- endif %}
