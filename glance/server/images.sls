# -*- coding: utf-8 -*-
# vim: ft=sls
# Images of glance:server:images, seeded on the primary only (a secondary
# shares the primary's images). Each item takes the arguments of
# glance_image.present; the old list form (name, format, file, source,
# public) works as it is.
#
# Glance is reached on the local API (glance:server:bind): with the glance
# service user when glance:server:identity:engine is keystone, otherwise in
# Glance's no-Keystone mode. glance:server:image_seeding:connection replaces
# that mapping as a whole (see glance_image.connect).
{%- set tplroot = tpldir.split('/')[0] %}
{%- set server = salt['pillar.get']('glance:server', {}) %}
{%- set images = server.get('images') or [] %}

{%- if server.get('role', 'primary') != 'primary' %}

glance-server-images-secondary-test-nop:
  test.nop:
    - name: image seeding runs on the primary only

{%- elif not server.get('manage_services', True) %}

glance-server-images-skipped-test-nop:
  test.nop:
    - name: glance:server:manage_services is false, so no API runs to seed images into

{%- elif images %}
{%-   set bind = server.get('bind') or {} %}
{%-   set address = bind.get('address') or '127.0.0.1' %}
{#-   A wildcard bind is reached on loopback. #}
{%-   if address in ('0.0.0.0', '::') %}
{%-     set address = '127.0.0.1' if address == '0.0.0.0' else '::1' %}
{%-   endif %}
{%-   if ':' in address %}
{%-     set address = '[' ~ address ~ ']' %}
{%-   endif %}
{%-   set endpoint = 'http://' ~ address ~ ':' ~ (bind.get('port') or 9292) %}
{%-   set identity = server.get('identity') or {} %}
{%-   if identity.get('engine') == 'keystone' %}
{%-     set connection = {
          'auth_url': (identity.get('protocol') or 'http') ~ '://' ~ identity.get('host', '127.0.0.1')
                      ~ ':' ~ (identity.get('port') or 5000) ~ '/v3',
          'username': identity.get('user') or 'glance',
          'password': identity.get('password'),
          'project_name': identity.get('tenant') or 'service',
          'user_domain_name': identity.get('domain') or 'Default',
          'project_domain_name': identity.get('domain') or 'Default',
          'endpoint': endpoint,
        } %}
{%-     if identity.get('region') %}
{%-       do connection.update({'region_name': identity.region}) %}
{%-     endif %}
{%-     if identity.get('cacert_file') %}
{%-       do connection.update({'cacert': identity.cacert_file}) %}
{%-     endif %}
{%-   else %}
{%-     set connection = {'auth_type': 'none', 'endpoint': endpoint} %}
{%-   endif %}
{%-   set connection = salt['pillar.get']('glance:server:image_seeding:connection', connection) %}

include:
  - {{ tplroot }}.server.service

{%-   for image in images %}

{{ ('glance-server-images-' ~ image.name ~ '-glance-image-present')|json }}:
  glance_image.present:
    - name: {{ image.name|json }}
    - connection: {{ connection|json }}
{%-     if 'api_wait' not in image %}
    {#- The API may have been (re)started by this very run. #}
    - api_wait: 60
{%-     endif %}
{%-     for key, value in image|dictsort if key != 'name' %}
    - {{ key }}: {{ value|json }}
{%-     endfor %}
    - require:
      - sls: {{ tplroot }}.server.service
{%-   endfor %}

{%- else %}

glance-server-images-none-test-nop:
  test.nop:
    - name: glance:server:images is empty

{%- endif %}
