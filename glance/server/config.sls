# -*- coding: utf-8 -*-
# vim: ft=sls
# Configuration files. They hold passwords: root owns them, only the glance
# group reads them, and state output never shows their content.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/inifiles.jinja" import inifiles, policy with context %}
{%- from tplroot ~ "/libsync.jinja" import needs_sync with context %}
{#- Unified limits: glance-api.conf names Glance's endpoint by its id, which
    files/ini.jinja asks Keystone for through the formula's openstack_sdk
    module. #}
{%- set endpoint_lookup = glance.server.limits.enabled %}
{%- set sync = endpoint_lookup and needs_sync('modules', 'openstack_sdk') %}

include:
  - {{ tplroot }}.server.install
{%- if endpoint_lookup %}
  - {{ tplroot }}.salt_deps.openstacksdk
{%- endif %}
{%- if sync %}

{#- openstack_sdk must be there in this very run (see libsync.jinja). #}
glance-server-config-saltutil-sync-all:
  saltutil.sync_all:
    - name: openstack-sdk-module
    - reload_modules: true
    - require:
      - sls: {{ tplroot }}.salt_deps.openstacksdk
{%- endif %}

{%- for id, file in inifiles.items() %}

glance-server-config-{{ id }}-file-managed:
  file.managed:
    - name: {{ file.path }}
    - source: salt://{{ tplroot }}/files/ini.jinja
    - template: jinja
    - context:
        sections: {{ file.sections|json }}
        order: {{ file.get('order', [])|json }}
    - user: root
    - group: {{ glance.group }}
    - mode: '0640'
    - makedirs: true
    - show_changes: false
    - require:
      - sls: {{ tplroot }}.server.install
{%-   if endpoint_lookup and id == 'api' %}
      - sls: {{ tplroot }}.salt_deps.openstacksdk
{%-     if sync %}
      - saltutil: glance-server-config-saltutil-sync-all
{%-     endif %}
{%-   endif %}
{%- endfor %}

{#- HTTPS on the API (bind:ssl): the certificate, key and CA as the pillar
    gives them, read from the pillar by the state itself so that the key
    is in no rendered SLS, and never shown. #}
{%- if glance.api_ssl %}
{%-   for key, path in glance.api_ssl.written.items() %}

glance-server-config-ssl-{{ key }}-file-managed:
  file.managed:
    - name: {{ path }}
    - contents_pillar: glance:server:bind:ssl:{{ key }}
    - user: root
    - group: {{ glance.group }}
    - mode: '0640'
    - makedirs: true
    - show_changes: false
    - require:
      - sls: {{ tplroot }}.server.install
{%-   endfor %}
{%- endif %}

glance-server-config-policy-file-managed:
  file.managed:
    - name: {{ policy.path }}
    - source: salt://{{ tplroot }}/files/policy.jinja
    - template: jinja
    - context:
        format: {{ policy.format }}
        rules: {{ policy.rules|json }}
    - user: root
    - group: {{ glance.group }}
    - mode: '0640'
    - require:
      - sls: {{ tplroot }}.server.install

{#- The Security Guide's Check-Image-01/02 for every file in the directory,
    the packages' own (paste file, metadata definitions, rootwrap) included:
    root:glance, 0640, the directory 0750. #}
glance-server-config-dir-file-directory:
  file.directory:
    - name: {{ glance.config_dir }}
    - user: root
    - group: {{ glance.group }}
    - dir_mode: '0750'
    - file_mode: '0640'
    - recurse:
      - user
      - group
      - mode
    - require:
      - sls: {{ tplroot }}.server.install
      - file: glance-server-config-policy-file-managed
{%- for id in inifiles %}
      - file: glance-server-config-{{ id }}-file-managed
{%- endfor %}
{%- if glance.api_ssl and glance.api_ssl.written %}
      - file: glance-server-config-ssl-*
{%- endif %}

{%- if glance.server.internal_api.enabled %}

glance-server-config-internal-api-unit-file-managed:
  file.managed:
    - name: {{ glance.internal_api_unit }}
    - source: salt://{{ tplroot }}/files/glance-api-internal.service.jinja
    - template: jinja
    - context:
        binary: {{ glance.api_binary }}
        configs: {{ [glance.api_config, glance.internal_api_config]|json }}
        log_file: {{ glance.log_dir }}/{{ glance.services.api_internal }}.log
        user: {{ glance.user }}
        group: {{ glance.group }}
    - user: root
    - group: root
    - mode: '0644'
    - require:
      - sls: {{ tplroot }}.server.install
{%- endif %}

{%- if glance.api_server == 'uwsgi' and glance.uwsgi.manage_unit %}

glance-server-config-uwsgi-unit-file-managed:
  file.managed:
    - name: {{ glance.uwsgi.unit }}
    - source: salt://{{ tplroot }}/files/glance-api-uwsgi.service.jinja
    - template: jinja
    - context:
        ini: {{ glance.uwsgi.ini }}
        uwsgi: {{ glance.uwsgi.binary }}
        user: {{ glance.user }}
        group: {{ glance.group }}
    - user: root
    - group: root
    - mode: '0644'
    - require:
      - sls: {{ tplroot }}.server.install
{%- endif %}
