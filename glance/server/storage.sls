# -*- coding: utf-8 -*-
# vim: ft=sls
# Store directories, and for Ceph RBD the client keyrings and ceph.conf,
# readable by the glance group only.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- import tplroot ~ "/ini/stores.jinja" as stores with context %}
{%- set file_dirs, keyrings, ceph_conf = stores.file_dirs, stores.keyrings, stores.ceph_conf %}
{%- set ceph = glance.server.ceph %}

include:
  - {{ tplroot }}.server.install

glance-server-storage-state-dir-file-directory:
  file.directory:
    - name: {{ glance.state_dir }}
    - user: {{ glance.user }}
    - group: {{ glance.group }}
    - require:
      - sls: {{ tplroot }}.server.install

{%- for directory in file_dirs %}

glance-server-storage-{{ directory }}-file-directory:
  file.directory:
    - name: {{ directory }}
    - user: {{ glance.user }}
    - group: {{ glance.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.server.install
{%- endfor %}

{%- for keyring in keyrings %}

glance-server-storage-{{ keyring.path }}-file-managed:
  file.managed:
    - name: {{ keyring.path }}
    - source: salt://{{ tplroot }}/files/keyring.jinja
    - template: jinja
    - context:
        user: {{ keyring.user|json }}
        key: {{ keyring.key|json }}
    - user: root
    - group: {{ glance.group }}
    - mode: '0640'
    - makedirs: true
    - show_changes: false
    - require:
      - sls: {{ tplroot }}.server.install
{%- endfor %}

{%- if keyrings and ceph.manage_conf and ceph.get('mon_host') %}

glance-server-storage-ceph-conf-file-managed:
  file.managed:
    - name: {{ ceph_conf }}
    - source: salt://{{ tplroot }}/files/ini.jinja
    - template: jinja
    - context:
        sections: {{ ({'global': salt['slsutil.merge']({'mon_host': ceph.mon_host|join(',')}, ceph.get('global', {}))})|json }}
    - user: root
    - group: {{ glance.group }}
    - mode: '0640'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.server.install
{%- endif %}
