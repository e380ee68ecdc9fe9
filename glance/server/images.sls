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
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/libsync.jinja" import needs_sync with context %}
{%- set server = glance.server %}
{%- set images = server.images %}

{%- if server.role != 'primary' %}

glance-server-images-secondary-test-nop:
  test.nop:
    - name: image seeding runs on the primary only

{%- elif not glance.manage_services %}

glance-server-images-skipped-test-nop:
  test.nop:
    - name: glance:server:manage_services is false, so no API runs to seed images into

{%- elif images %}
{%-   set identity = server.identity %}
{%-   if identity.engine == 'keystone' %}
{%-     set connection = {
          'auth_url': glance.keystone.auth_url_v3,
          'username': identity.user,
          'password': identity.password,
          'project_name': identity.tenant,
          'user_domain_name': identity.domain,
          'project_domain_name': identity.domain,
          'endpoint': glance.api_endpoint,
        } %}
{%-     if identity.get('region') %}
{%-       do connection.update({'region_name': identity.region}) %}
{%-     endif %}
{%-     if identity.get('cacert_file') %}
{%-       do connection.update({'cacert': identity.cacert_file}) %}
{%-     endif %}
{%-   else %}
{%-     set connection = {'auth_type': 'none', 'endpoint': glance.api_endpoint} %}
{%-   endif %}
{#-   One CA bundle verifies Keystone and Glance alike (validate.py refuses
      a CA for each). #}
{%-   if glance.api_ssl and glance.api_ssl.ca_file %}
{%-     do connection.update({'cacert': glance.api_ssl.ca_file}) %}
{%-   endif %}
{%-   set connection = salt['pillar.get']('glance:server:image_seeding:connection', connection) %}

include:
  - {{ tplroot }}.server.service
  - {{ tplroot }}.salt_deps.openstacksdk

{%-   set sync = needs_sync('states', 'glance_image') or needs_sync('modules', 'glance_image') or needs_sync('modules', 'openstack_sdk') %}
{%-   if sync %}

{#- glance_image must be there in this very run (see libsync.jinja). #}
glance-server-images-saltutil-sync-all:
  saltutil.sync_all:
    - name: glance-image-state
    - reload_modules: true
{%-   endif %}

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
      - sls: {{ tplroot }}.salt_deps.openstacksdk
{%-     if sync %}
      - saltutil: glance-server-images-saltutil-sync-all
{%-     endif %}
{%-   endfor %}

{%- else %}

glance-server-images-none-test-nop:
  test.nop:
    - name: glance:server:images is empty

{%- endif %}
