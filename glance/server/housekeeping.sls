# -*- coding: utf-8 -*-
# vim: ft=sls
# Housekeeping a long-running cloud needs, as systemd timers the formula
# owns: `glance-manage db purge` of soft-deleted rows on the primary
# (glance:server:db_purge), and with the image cache on, its pruner and
# cleaner on every API node (glance:server:image_cache; the cache is each
# node's own). A timer switched off is stopped and its units removed.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- set purge = glance.server.db_purge %}
{%- set cache = glance.server.image_cache %}
{%- set cache_on = glance.image_cache_on %}
{#- The cache utilities get both files named: which they read by default
    changed in 2024.1, and a virtualenv has sample copies of its own. #}
{%- set cache_config = '--config-file ' ~ glance.api_config ~ ' --config-file ' ~ glance.cache_config %}
{#- name: (on, description, command, calendar, what its first run waits
    for). db purge leaves the images table alone: an image id must never
    be reused (OSSN-0075). #}
{%- set jobs = {
      'glance-db-purge': (
        purge.enabled and glance.server.role == 'primary',
        "Purge Glance's database rows deleted more than " ~ purge.age_in_days ~ ' days ago',
        glance.bin_dir ~ '/glance-manage --config-file ' ~ glance.api_config ~ ' db purge --age_in_days '
          ~ purge.age_in_days ~ ' --max_rows ' ~ purge.max_rows,
        purge.on_calendar, tplroot ~ '.server.db'),
      'glance-cache-pruner': (
        cache_on, "Prune Glance's image cache down to its maximum size",
        glance.bin_dir ~ '/glance-cache-pruner ' ~ cache_config,
        cache.pruner_on_calendar, tplroot ~ '.server.service'),
      'glance-cache-cleaner': (
        cache_on, "Clean stalled and invalid files out of Glance's image cache",
        glance.bin_dir ~ '/glance-cache-cleaner ' ~ cache_config,
        cache.cleaner_on_calendar, tplroot ~ '.server.service'),
    } %}
{#- Where a site's own units go, on every systemd distribution. #}
{%- set unit_dir = '/etc/systemd/system' %}

{%- if glance.manage_services %}

include:
  - {{ tplroot }}.server.db
  - {{ tplroot }}.server.service
{%-   for name, (on, description, command, on_calendar, after) in jobs.items() %}
{%-     if on %}

glance-server-housekeeping-{{ name }}-service-file-managed:
  file.managed:
    - name: {{ unit_dir }}/{{ name }}.service
    - source: salt://{{ tplroot }}/files/housekeeping.service.jinja
    - template: jinja
    - context:
        description: {{ description|json }}
        user: {{ glance.user }}
        group: {{ glance.group }}
        command: {{ command|json }}
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
        on_calendar: {{ on_calendar|json }}
    - user: root
    - group: root
    - mode: '0644'

{#- The timer's state reloads systemd only for a change of the timer's own
    unit; a new command (a move to PyPI, a new release) is in the .service. #}
glance-server-housekeeping-{{ name }}-systemd-reloaded:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: glance-server-housekeeping-{{ name }}-service-file-managed
      - file: glance-server-housekeeping-{{ name }}-timer-file-managed

glance-server-housekeeping-{{ name }}-timer-running:
  service.running:
    - name: {{ name }}.timer
    - enable: true
    - watch:
      - file: glance-server-housekeeping-{{ name }}-service-file-managed
      - file: glance-server-housekeeping-{{ name }}-timer-file-managed
    - require:
      - module: glance-server-housekeeping-{{ name }}-systemd-reloaded
      - sls: {{ after }}
{%-     else %}

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
{%-     endif %}
{%-   endfor %}
{%- else %}

glance-server-housekeeping-skipped-test-nop:
  test.nop:
    - name: glance:server:manage_services is false
{%- endif %}
