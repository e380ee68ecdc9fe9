# -*- coding: utf-8 -*-
# vim: ft=sls
# PyMySQL (Salt's mysql execution module) and, from Salt 3008, saltext-mysql
# (the mysql_database, mysql_user and mysql_grants states) in the Python that
# runs Salt (see lib.jinja).
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/salt_deps/lib.jinja" import salt_deps with context %}
{{ salt_deps(glance, ['pymysql', 'saltext-mysql']) }}
