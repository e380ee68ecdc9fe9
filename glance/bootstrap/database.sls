# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Glance's MySQL/MariaDB database, its user (one account per allowed host)
# and the user's privileges on the database. Needs PyMySQL and (Salt 3008 and
# newer) the saltext-mysql extension in Salt's Python, which
# glance.salt_deps.mysql brings. The database server's
# administrator comes from glance:bootstrap:database.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %} {#- it refuses unknown pillar keys #}
{%- set server_db = glance.server.database %}
{%- set bootstrap = glance.bootstrap.database %}
{%- set db_name = server_db.name %}
{%- set db_user = server_db.user %}
{%- set connection = {'connection_charset': 'utf8'} %}
{%- for key, arg in [('admin_user', 'connection_user'),
                     ('admin_password', 'connection_pass'),
                     ('unix_socket', 'connection_unix_socket'),
                     ('host', 'connection_host'),
                     ('port', 'connection_port'),
                     ('default_file', 'connection_default_file')] %}
{%-   if bootstrap.get(key) is not none %}
{%-     do connection.update({arg: bootstrap[key]}) %}
{%-   endif %}
{%- endfor %}

include:
  - {{ tplroot }}.salt_deps.mysql

glance-bootstrap-database-present:
  mysql_database.present:
    - name: {{ db_name | json }}
{%- if bootstrap.get('character_set') %}
    - character_set: {{ bootstrap.character_set | json }}
{%- endif %}
{%- if bootstrap.get('collate') %}
    - collate: {{ bootstrap.collate | json }}
{%- endif %}
{%- for arg, value in connection | dictsort %}
    - {{ arg }}: {{ value | json }}
{%- endfor %}
    - require:
      - sls: {{ tplroot }}.salt_deps.mysql

{%- for host in bootstrap.allowed_hosts %}

glance-bootstrap-database-user-present-{{ host }}:
  mysql_user.present:
    - name: {{ db_user | json }}
    - host: {{ host | json }}
    - password: {{ server_db.get('password') | json }}
{%-   for arg, value in connection | dictsort %}
    - {{ arg }}: {{ value | json }}
{%-   endfor %}
    - require:
      - mysql_database: glance-bootstrap-database-present

glance-bootstrap-database-grants-present-{{ host }}:
  mysql_grants.present:
    - grant: ALL PRIVILEGES
    - database: {{ (db_name ~ '.*') | json }}
    - user: {{ db_user | json }}
    - host: {{ host | json }}
{%-   for arg, value in connection | dictsort %}
    - {{ arg }}: {{ value | json }}
{%-   endfor %}
    - require:
      - mysql_user: glance-bootstrap-database-user-present-{{ host }}
{%- endfor %}
