# -*- coding: utf-8 -*-
# vim: ft=sls
# Store directories, and for Ceph RBD the client keyrings and ceph.conf,
# readable by the glance group only; then each rbd store's client must
# reach its pool with them (glance_store.rbd_reachable), so that a wrong key
# fails the apply rather than an upload.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import glance with context %}
{%- from tplroot ~ "/libsync.jinja" import needs_sync with context %}
{%- import tplroot ~ "/ini/stores.jinja" as stores with context %}
{%- set file_dirs, keyrings, ceph_conf = stores.file_dirs, stores.keyrings, stores.ceph_conf %}
{%- set ceph = glance.server.ceph %}
{#- One check per distinct client, pool and ceph.conf of the rbd stores. #}
{%- set access_checks = [] %}
{%- if ceph.check_access and glance.manage_services %}
{%-   for client in stores.rbd_clients %}
{%-     do access_checks.append({'name': client.name, 'user': client.user, 'pool': client.pool,
                                 'conf': client.conf, 'keyring': client.keyring,
                                 'service_user': glance.user, 'python': glance.python}) %}
{%-   endfor %}
{%- endif %}
{%- set sync = access_checks and needs_sync('states', 'glance_store') %}

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

{%- set cache = glance.server.image_cache %}
{%- if glance.image_cache_on %}
{#- The image cache and the directories its drivers write in (a download
    lands in incomplete/ first): Debian's packages leave those root's, and
    then glance-api caches nothing. #}
{%-   for directory in [cache.directory, cache.directory ~ '/incomplete', cache.directory ~ '/invalid',
                        cache.directory ~ '/queue'] %}

glance-server-storage-{{ directory }}-file-directory:
  file.directory:
    - name: {{ directory }}
    - user: {{ glance.user }}
    - group: {{ glance.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.server.install
{%-   endfor %}
{%- endif %}

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
{%-   set ceph_sections = {'global': salt['slsutil.merge']({'mon_host': ceph.mon_host|join(',')}, ceph.get('global', {}))} %}
{#-   Bounded waits for glance-api's own clients: with a monitor or the
      OSDs gone, Ceph would otherwise hold an upload (and its image in
      saving) for ever. #}
{%-   if ceph.op_timeout %}
{%-     for keyring in keyrings %}
{%-       set waits = {'client_mount_timeout': ceph.op_timeout, 'rados_mon_op_timeout': ceph.op_timeout,
                       'rados_osd_op_timeout': ceph.op_timeout} %}
{%-       do ceph_sections.update({'client.' ~ keyring.user: waits}) %}
{%-     endfor %}
{%-   endif %}

glance-server-storage-ceph-conf-file-managed:
  file.managed:
    - name: {{ ceph_conf }}
    - source: salt://{{ tplroot }}/files/ini.jinja
    - template: jinja
    - context:
        sections: {{ ceph_sections|json }}
    - user: root
    - group: {{ glance.group }}
    - mode: '0640'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.server.install
{%- endif %}

{%- if sync %}

{#- glance_store must be there in this very run (see libsync.jinja). #}
glance-server-storage-saltutil-sync-all:
  saltutil.sync_all:
    - name: glance-store-state
    - reload_modules: true
{%- endif %}

{%- for check in access_checks %}

{#- Part of this SLS, which glance.server.service watches (a watch
    requires): a failed check leaves the services alone. No changes ever,
    so it never restarts them. #}
glance-server-storage-{{ check.name }}-rbd-reachable:
  glance_store.rbd_reachable:
{%-   for key, value in check|dictsort %}
    - {{ key }}: {{ value|json }}
{%-   endfor %}
    - require:
      - sls: {{ tplroot }}.server.install
      - file: glance-server-storage-{{ check.keyring }}-file-managed
{%-   if ceph.manage_conf and ceph.get('mon_host') %}
      - file: glance-server-storage-ceph-conf-file-managed
{%-   endif %}
{%-   if sync %}
      - saltutil: glance-server-storage-saltutil-sync-all
{%-   endif %}
{%- endfor %}
