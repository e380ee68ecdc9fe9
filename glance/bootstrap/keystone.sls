# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Glance in Keystone: the service project and region (created when missing),
# the glance user with its roles on that project, the image service and its
# public, internal and admin endpoints; with glance:server:limits on, the
# registered limits and the reader role on the system for the glance user.
# Uses the keystone_registration states
# of this formula (_states/), which need openstacksdk on the minion. The
# administrator's credentials come from glance:bootstrap:identity.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %} {#- it refuses unknown pillar keys #}
{%- from tplroot ~ "/libsync.jinja" import needs_sync with context %}
{%- set identity = glance.server.identity %}
{%- set bootstrap = glance.bootstrap.identity %}
{%- set domain = identity.domain %}
{%- set project = identity.tenant %}
{%- set region = identity.get('region', bootstrap.region) %}
{%- set user = identity.user %}
{%- set service_name = bootstrap.service_name %}
{%- set default_url = ('https' if glance.api_ssl else 'http') ~ '://' ~ grains['fqdn'] ~ ':' ~ glance.server.bind.port %}
{%- set endpoints = bootstrap.get('endpoints', {}) %}
{%- set connection = {
      'auth_url': bootstrap.get('auth_url', glance.keystone.auth_url_v3),
      'username': bootstrap.admin_user,
      'password': bootstrap.get('admin_password'),
      'project_name': bootstrap.admin_project,
      'user_domain_name': bootstrap.admin_domain,
      'project_domain_name': bootstrap.get('admin_project_domain', bootstrap.admin_domain),
    } %}
{%- for key in ['interface', 'cacert', 'verify'] %}
{%-   if bootstrap.get(key) is not none %}
{%-     do connection.update({key: bootstrap[key]}) %}
{%-   endif %}
{%- endfor %}

include:
  - {{ tplroot }}.salt_deps.openstacksdk

{%- set sync = needs_sync('states', 'keystone_registration') or needs_sync('modules', 'openstack_sdk') %}
{%- if sync %}

{#- keystone_registration must be there in this very run (see libsync.jinja). #}
glance-bootstrap-identity-saltutil-sync-all:
  saltutil.sync_all:
    - name: keystone-registration-state
    - reload_modules: true
{%- endif %}

glance-bootstrap-identity-region-present:
  keystone_registration.region_present:
    - name: {{ region | json }}
    - connection: {{ connection | json }}
    - require:
      - sls: {{ tplroot }}.salt_deps.openstacksdk
{%- if sync %}
      - saltutil: glance-bootstrap-identity-saltutil-sync-all
{%- endif %}

glance-bootstrap-identity-project-present:
  keystone_registration.project_present:
    - name: {{ project | json }}
    - domain: {{ domain | json }}
    - description: Service project
    - connection: {{ connection | json }}
    - require:
      - sls: {{ tplroot }}.salt_deps.openstacksdk
{%- if sync %}
      - saltutil: glance-bootstrap-identity-saltutil-sync-all
{%- endif %}

glance-bootstrap-identity-user-present:
  keystone_registration.user_present:
    - name: {{ user | json }}
    - password: {{ identity.get('password') | json }}
    - domain: {{ domain | json }}
    - default_project: {{ project | json }}
    - connection: {{ connection | json }}
    - require:
      - keystone_registration: glance-bootstrap-identity-project-present

{%- for role in bootstrap.roles %}

glance-bootstrap-identity-role-{{ role }}-present:
  keystone_registration.role_present:
    - name: {{ role | json }}
    - connection: {{ connection | json }}
    - require:
      - sls: {{ tplroot }}.salt_deps.openstacksdk

glance-bootstrap-identity-role-{{ role }}-granted:
  keystone_registration.role_granted:
    - name: {{ role | json }}
    - user: {{ user | json }}
    - project: {{ project | json }}
    - user_domain: {{ domain | json }}
    - connection: {{ connection | json }}
    - require:
      - keystone_registration: glance-bootstrap-identity-role-{{ role }}-present
      - keystone_registration: glance-bootstrap-identity-user-present
{%- endfor %}

glance-bootstrap-identity-service-present:
  keystone_registration.service_present:
    - name: {{ service_name | json }}
    - type: image
    - description: {{ bootstrap.service_description | json }}
    - connection: {{ connection | json }}
    - require:
      - sls: {{ tplroot }}.salt_deps.openstacksdk

{%- for interface in ['public', 'internal', 'admin'] %}

glance-bootstrap-identity-endpoint-{{ interface }}-present:
  keystone_registration.endpoint_present:
    - name: {{ service_name | json }}
    - service_type: image
    - interface: {{ interface }}
    - url: {{ endpoints.get(interface, default_url) | json }}
    - region: {{ region | json }}
    - connection: {{ connection | json }}
    - require:
      - keystone_registration: glance-bootstrap-identity-region-present
      - keystone_registration: glance-bootstrap-identity-service-present
{%- endfor %}

{%- set limits = glance.server.limits %}
{%- if limits.enabled %}
{#- Unified limits: every project's default in the endpoint's region (the
    only one oslo.limit reads), and the reader role on the system for the
    glance user, as which oslo.limit reads them. #}
{%-   if 'reader' not in bootstrap.roles %}

glance-bootstrap-identity-role-reader-present:
  keystone_registration.role_present:
    - name: reader
    - connection: {{ connection | json }}
    - require:
      - sls: {{ tplroot }}.salt_deps.openstacksdk
{%-   endif %}

glance-bootstrap-identity-system-reader-granted:
  keystone_registration.system_role_granted:
    - name: reader
    - user: {{ user | json }}
    - user_domain: {{ domain | json }}
    - connection: {{ connection | json }}
    - require:
      - keystone_registration: glance-bootstrap-identity-role-reader-present
      - keystone_registration: glance-bootstrap-identity-user-present
{%-   for resource in ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] %}

glance-bootstrap-identity-registered-limit-{{ resource }}-present:
  keystone_registration.registered_limit_present:
    - name: {{ resource }}
    - default_limit: {{ limits[resource] }}
    - service: {{ service_name | json }}
    - service_type: image
    - region: {{ region | json }}
    - connection: {{ connection | json }}
    - require:
      - keystone_registration: glance-bootstrap-identity-region-present
      - keystone_registration: glance-bootstrap-identity-service-present
{%-   endfor %}
{%- endif %}
