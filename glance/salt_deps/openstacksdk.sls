# -*- coding: utf-8 -*-
# vim: ft=sls
# openstacksdk in the Python that runs Salt: the glance_image and
# keystone_registration states need it (see lib.jinja).
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/salt_deps/lib.jinja" import salt_deps with context %}
{{ salt_deps(glance, ['openstacksdk']) }}
