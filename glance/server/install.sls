# -*- coding: utf-8 -*-
# vim: ft=sls
# Glance's code, by the method of glance:server:install:method: the
# distribution's packages (install/packages.jinja) or PyPI
# (install/pypi.jinja), then the guard against a database newer than the
# installed release (install/schema_guard.jinja). Everything after it
# (configuration, schema, service, images) is the same for both and
# requires this SLS.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- include tplroot ~ '/server/install/' ~ glance.install.method ~ '.jinja' %}
{%- include tplroot ~ '/server/install/schema_guard.jinja' %}
