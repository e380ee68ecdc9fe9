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

glance-server-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ pkgs|unique|list|json }}
