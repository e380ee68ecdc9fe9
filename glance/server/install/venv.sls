# -*- coding: utf-8 -*-
# vim: ft=sls
# The virtualenv of the pillar's release (<pypi:root>/<release>), pinned by
# the release's constraints file and switched to only once complete
# (_states/glance_venv.py): nothing that serves changes here. Part of
# glance.server.install with install:method pypi; applied alone, it builds
# the next release beside the running one (glance.orchestrate.upgrade does
# that on every API node before the first is drained).
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/libsync.jinja" import needs_sync with context %}
{%- set install = glance.install %}
{%- if install.method == 'pypi' %}
{%-   set pkgs = glance.pypi.pkgs %}
{%-   if install.build %}
{#-     Only what the pillar allows is built: the compiler and headers then. #}
{%-     set pkgs = pkgs + glance.pypi.build_pkgs %}
{%-   endif %}
{%-   if install.link_modules %}
{%-     set pkgs = pkgs + glance.pkgs.rbd %}
{%-   endif %}
{%-   set pkgs = pkgs + install.uwsgi_pkgs %}
{%-   set pkgs = pkgs|unique|list %}
{%-   set missing = salt['slsutil.renderer']('salt://' ~ tplroot ~ '/lib/packages.py', default_renderer='py',
                                             PKGS=pkgs, OS_FAMILY=grains.os_family) %}
{%-   set constraints = install.constraints or 'salt://' ~ tplroot ~ '/files/constraints/' ~ glance.version ~ '.txt' %}
{%-   set sync = needs_sync('states', 'glance_venv') %}
{%-   if missing %}

glance-server-install-pypi-pkg-installed:
  pkg.installed:
    - pkgs: {{ pkgs|json }}
{%-   else %}

glance-server-install-pypi-pkg-installed:
  test.succeed_without_changes:
    - name: 'installed: {{ pkgs|join(', ') }}'
{%-   endif %}

glance-server-install-pypi-constraints-file-managed:
  file.managed:
    - name: {{ install.constraints_file }}
    - source: {{ constraints }}
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: true
{%-   if sync %}

{#- glance_venv must be there in this very run (see libsync.jinja). #}
glance-server-install-pypi-saltutil-sync-all:
  saltutil.sync_all:
    - name: glance-venv-state
    - reload_modules: true
{%-   endif %}

glance-server-install-pypi-venv-installed:
  glance_venv.installed:
    - name: {{ install.venv }}
    - python: {{ install.python }}
    - requirements: {{ install.requirements|json }}
    - constraints: {{ install.constraints_file }}
    - index_url: {{ install.index_url|json }}
    - find_links: {{ install.find_links|json }}
    - no_binary: {{ install.no_binary|json }}
    - link_modules: {{ install.link_modules|json }}
    - require:
      - {{ 'pkg' if missing else 'test' }}: glance-server-install-pypi-pkg-installed
      - file: glance-server-install-pypi-constraints-file-managed
{%-   if sync %}
      - saltutil: glance-server-install-pypi-saltutil-sync-all
{%-   endif %}

{%- else %}

glance-server-install-venv-test-nop:
  test.nop:
    - name: 'glance:server:install:method is {{ install.method }}: no virtualenv'
{%- endif %}
