# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Glance in Keystone: the service project and region (created when missing),
# the glance user with its roles on that project, the image service and its
# public, internal and admin endpoints. Uses the keystone_registration states
# of this formula (_states/), which need openstacksdk on the minion. The
# administrator's credentials come from glance:bootstrap:identity.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %} {#- it refuses unknown pillar keys #}
{%- from tplroot ~ "/libsync.jinja" import needs_sync with context %}
{%- set identity = salt['pillar.get']('glance:server:identity', {}) %}
{%- set bind = salt['pillar.get']('glance:server:bind', {}) %}
{%- set bootstrap = salt['pillar.get']('glance:bootstrap:identity', {}) %}
{%- set domain = identity.get('domain', 'Default') %}
{%- set project = identity.get('tenant', 'service') %}
{%- set region = identity.get('region', 'RegionOne') %}
{%- set user = identity.get('user', 'glance') %}
{%- set service_name = bootstrap.get('service_name', 'glance') %}
{%- set default_auth_url = '%s://%s:%s/v3' | format(identity.get('protocol', 'http'),
                                                     identity.get('host', '127.0.0.1'),
                                                     identity.get('port', 5000)) %}
{%- set default_url = 'http://%s:%s' | format(grains['fqdn'], bind.get('port', 9292)) %}
{%- set endpoints = bootstrap.get('endpoints', {}) %}
{%- set admin_domain = bootstrap.get('admin_domain', 'Default') %}
{%- set connection = {
      'auth_url': bootstrap.get('auth_url', default_auth_url),
      'username': bootstrap.get('admin_user', 'admin'),
      'password': bootstrap.get('admin_password'),
      'project_name': bootstrap.get('admin_project', 'admin'),
      'user_domain_name': admin_domain,
      'project_domain_name': bootstrap.get('admin_project_domain', admin_domain),
    } %}
{%- for key in ['interface', 'cacert', 'verify'] %}
{%-   if bootstrap.get(key) is not none %}
{%-     do connection.update({key: bootstrap[key]}) %}
{%-   endif %}
{%- endfor %}

include:
  - {{ tplroot }}.salt_deps.openstacksdk

{%- set sync = needs_sync('states', 'keystone_registration') %}
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

{%- for role in bootstrap.get('roles', ['admin', 'service']) %}

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
    - description: {{ bootstrap.get('service_description', 'OpenStack Image service') | json }}
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
