# -*- coding: utf-8 -*-
# vim: ft=sls
# Housekeeping a long-running cloud needs, as systemd timers the formula
# owns: `glance-manage db purge` of soft-deleted rows on the primary
# (glance:server:db_purge). A timer switched off is stopped and its units
# removed.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- set purge = glance.server.db_purge %}
{%- set name = 'glance-db-purge' %}
{#- Where a site's own units go, on every systemd distribution. #}
{%- set unit_dir = '/etc/systemd/system' %}
{%- set description = "Purge Glance's database rows deleted more than " ~ purge.age_in_days ~ ' days ago' %}

{%- if glance.manage_services %}

include:
  - {{ tplroot }}.server.db
{%-   if purge.enabled and glance.server.role == 'primary' %}

{#- The images table is left alone (db purge skips it): an image id must
    never be reused (OSSN-0075). #}
glance-server-housekeeping-{{ name }}-service-file-managed:
  file.managed:
    - name: {{ unit_dir }}/{{ name }}.service
    - source: salt://{{ tplroot }}/files/housekeeping.service.jinja
    - template: jinja
    - context:
        description: {{ description|json }}
        user: {{ glance.user }}
        group: {{ glance.group }}
        command: {{ (glance.bin_dir ~ '/glance-manage --config-file ' ~ glance.api_config ~ ' db purge --age_in_days '
                     ~ purge.age_in_days ~ ' --max_rows ' ~ purge.max_rows)|json }}
    - user: root
    - group: root
    - mode: '0644'

glance-server-housekeeping-{{ name }}-timer-file-managed:
  file.managed:
    - name: {{ unit_dir }}/{{ name }}.timer
    - source: salt://{{ tplroot }}/files/housekeeping.timer.jinja
    - template: jinja
    - context:
        description: {{ description|json }}
        on_calendar: {{ purge.on_calendar|json }}
    - user: root
    - group: root
    - mode: '0644'

{#- Its first run waits for the schema. #}
glance-server-housekeeping-{{ name }}-timer-running:
  service.running:
    - name: {{ name }}.timer
    - enable: true
    - watch:
      - file: glance-server-housekeeping-{{ name }}-service-file-managed
      - file: glance-server-housekeeping-{{ name }}-timer-file-managed
    - require:
      - sls: {{ tplroot }}.server.db
{%-   else %}

{#- Stopped and disabled only when its unit is there to remove. #}
glance-server-housekeeping-{{ name }}-timer-dead:
  service.dead:
    - name: {{ name }}.timer
    - enable: false
    - prereq:
      - file: glance-server-housekeeping-{{ name }}-timer-file-absent

glance-server-housekeeping-{{ name }}-timer-file-absent:
  file.absent:
    - name: {{ unit_dir }}/{{ name }}.timer

glance-server-housekeeping-{{ name }}-service-file-absent:
  file.absent:
    - name: {{ unit_dir }}/{{ name }}.service
{%-   endif %}
{%- else %}

glance-server-housekeeping-skipped-test-nop:
  test.nop:
    - name: glance:server:manage_services is false
{%- endif %}
