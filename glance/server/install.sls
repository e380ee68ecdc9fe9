# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- set pkgs = glance.pkgs.api + glance.pkgs.get(glance.server.database.engine, []) %}
{%- if glance.features.registry %}
{%-   set pkgs = pkgs + glance.pkgs.registry %}
{%- endif %}
{%- if glance.stores|selectattr('type', 'equalto', 'rbd')|list %}
{%-   set pkgs = pkgs + glance.pkgs.rbd %}
{%- endif %}
{%- if glance.api_server == 'uwsgi' %}
{%-   set pkgs = pkgs + glance.pkgs.uwsgi %}
{%- endif %}
{%- set pkgs = pkgs|unique|list %}
{#- Asked of dpkg/rpm at render time (lib/packages.py): on a converged host
    nothing is missing and neither the masks nor pkg.installed, whose
    package listing costs more than half a second, need to run. #}
{%- set missing = salt['slsutil.renderer']('salt://' ~ tplroot ~ '/lib/packages.py', default_renderer='py',
                                           PKGS=pkgs, OS_FAMILY=grains.os_family) %}
{%- if missing %}
{#- Service -> the package that ships it. #}
{%- set shipped = {glance.services.api: glance.pkgs.api[0]} %}
{%- if glance.features.registry %}
{%-   do shipped.update({glance.services.registry: (glance.pkgs.registry or glance.pkgs.api)[0]}) %}
{%- endif %}
{%- if glance.manage_services %}
{%-   for service, package in shipped|dictsort if package in missing %}

{#- Debian's packages start their service on installation, with the
    package's own configuration: it would answer before this formula has
    configured it, and on a secondary before the schema exists. A runtime
    mask (gone at reboot), set only while the package is not installed yet,
    keeps it stopped until glance.server.service unmasks and starts it. #}
glance-server-install-{{ service }}-service-masked-until-configured:
  service.masked:
    - name: {{ service }}
    - runtime: true
    - unless:
      - fun: pkg.version
        args:
          - {{ package }}
    - require_in:
      - pkg: glance-server-install-pkg-installed
{%-   endfor %}
{%- endif %}

glance-server-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ pkgs|json }}
{%- else %}

glance-server-install-pkg-installed:
  test.succeed_without_changes:
    - name: 'installed: {{ pkgs|join(', ') }}'
{%- endif %}
