# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}

{%- if glance.server.enabled %}
include:
  - .install
  - .config
  - .storage
  - .db
  - .service
  - .housekeeping
  - .images
{%- else %}
glance-server-disabled-test-nop:
  test.nop:
    - name: glance:server:enabled is false
{%- endif %}
