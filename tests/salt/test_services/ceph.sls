# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: a one-node Ceph from the distribution (one monitor, one
# manager, one bluestore OSD whose data is a 2 GiB file: no block device, no
# privileges), with the pool and the client of glance:server:storage. The
# monitor listens on the first glance:server:ceph:mon_host entry. A name
# there (the cluster suite's `controller`, which the Glance nodes' Ceph
# clients resolve themselves) is resolved on this host at render time
# (`getent ahostsv4`: /etc/hosts, then DNS): the monitor map needs an IP. A
# name that resolves to a loopback address is refused, since no other node
# could reach the monitor there. Every daemon binds to and advertises that
# address (public_addr), so the OSD's address in the OSD map is one the
# other nodes reach. The monitor map is made once: a host whose address
# changes needs a new test Ceph.
#
# The daemons run as the cluster "testceph" (/etc/ceph/testceph.conf, the
# packages' units with CLUSTER=testceph), so that /etc/ceph/ceph.conf and
# the client keyring stay the formula's alone. Administration:
# `ceph --cluster testceph ...` as root.
#
# The client's key is the pillar's (storage:client_glance_key): imported
# from a root-only keyring file, never on a command line or in state output.
{%- set fixture = salt['pillar.get']('test_services:ceph', {}) %}
{%- set storage = salt['pillar.get']('glance:server:storage', {}) %}
{%- set mon_host = salt['pillar.get']('glance:server:ceph:mon_host', '127.0.0.1') %}
{%- set mon_name = mon_host if mon_host is string else mon_host[0] %}
{%- if mon_name|is_ip %}
{%-   set mon_addr = mon_name %}
{%- else %}
{%-   set resolved = salt['cmd.run_stdout'](['getent', 'ahostsv4', mon_name], python_shell=False,
                                            ignore_retcode=True).split() %}
{%-   if not resolved or resolved[0].startswith('127.') %}
{{-     raise('test_services.ceph: the monitor name ' ~ mon_name ~ ' resolves to '
              ~ (resolved[0] if resolved else 'nothing') ~ ' here; it needs an address the clients reach') }}
{%-   endif %}
{%-   set mon_addr = resolved[0] %}
{%- endif %}
{%- set cluster = 'testceph' %}
{%- set ceph = 'ceph --cluster ' ~ cluster ~ ' --connect-timeout 30' %}
{%- set fsid = fixture.fsid %}
{%- set osd_uuid = fixture.osd_uuid %}
{%- set pool = storage.get('pool', 'images') %}
{%- set client = 'client.' ~ storage.get('user', 'glance') %}
{%- set mon_dir = '/var/lib/ceph/mon/' ~ cluster ~ '-a' %}
{%- set mgr_dir = '/var/lib/ceph/mgr/' ~ cluster ~ '-x' %}
{%- set osd_dir = '/var/lib/ceph/osd/' ~ cluster ~ '-0' %}
{%- set admin_keyring = '/etc/ceph/' ~ cluster ~ '.client.admin.keyring' %}
{%- set client_keyring = '/etc/ceph/' ~ cluster ~ '.' ~ client ~ '.keyring' %}
{#- BlueStore does its I/O with libaio, whose io_getevents is io_pgetevents
    on Debian 13. Where a seccomp filter refuses that call (podman 4.3's
    default profile: EPERM), the OSD aborts; there the OSD maps its file
    instead (bdev_type pmem). Probed: Kitchen's privileged containers and
    newer profiles allow it. #}
{%- set probe = "import ctypes, platform, sys; nr = {'x86_64': 333, 'aarch64': 292}.get(platform.machine()); "
      ~ "libc = ctypes.CDLL(None, use_errno=True); "
      ~ "sys.exit(0 if nr and libc.syscall(nr, 0, 0, 0, 0, 0, 0) == -1 and ctypes.get_errno() == 1 else 1)" %}
{%- set aio_refused = salt['cmd.retcode'](['python3', '-c', probe], python_shell=False, ignore_retcode=True) == 0 %}

test-services-ceph-installed:
  pkg.installed:
    - pkgs:
      - ceph-mon
      - ceph-mgr
      - ceph-osd

test-services-ceph-config:
  file.managed:
    - name: /etc/ceph/{{ cluster }}.conf
    - mode: '0644'
    - contents: |
        # Managed by the test_services.ceph fixture.
        [global]
        fsid = {{ fsid }}
        mon_host = {{ mon_addr }}
        mon_initial_members = a
        public_addr = {{ mon_addr }}
        # One OSD: one copy of everything, no failure domain above the OSD.
        osd_pool_default_size = 1
        osd_pool_default_min_size = 1
        mon_allow_pool_size_one = true
        mon_warn_on_pool_no_redundancy = false
        osd_crush_chooseleaf_type = 0
        # No placement group splits (peering) after the pool is ready.
        osd_pool_default_pg_autoscale_mode = off
        auth_allow_insecure_global_id_reclaim = false

        [osd]
        osd_objectstore = bluestore
        bluestore_block_create = true
        bluestore_block_size = 2147483648
{%- if aio_refused %}
        # Mapped: this host refuses io_pgetevents, which libaio uses.
        bdev_type = pmem
{%- endif %}
        # The smallest target Ceph accepts; the default is 4 GiB.
        osd_memory_target = 939524096
    - require:
      - pkg: test-services-ceph-installed

{%- for daemon in ['mon', 'mgr', 'osd'] %}

test-services-ceph-{{ daemon }}-cluster-name:
  file.managed:
    - name: /etc/systemd/system/ceph-{{ daemon }}@.service.d/test-services.conf
    - makedirs: true
    - mode: '0644'
    - contents: |
        [Service]
        Environment=CLUSTER={{ cluster }}
{%- endfor %}

test-services-ceph-admin-keyring:
  cmd.run:
    - name: >-
        ceph-authtool --create-keyring {{ admin_keyring }} --gen-key -n client.admin
        --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
    - creates: {{ admin_keyring }}
    - require:
      - pkg: test-services-ceph-installed

# The monitor's store, with the admin key in it; `done` is written last.
test-services-ceph-mon-mkfs:
  cmd.run:
    - name: |
        set -e
        tmp=$(mktemp -d /var/lib/ceph/tmp/mkfs.XXXXXX)
        ceph-authtool --create-keyring "$tmp/keyring" --gen-key -n mon. --cap mon 'allow *'
        ceph-authtool "$tmp/keyring" --import-keyring {{ admin_keyring }}
        monmaptool --create --fsid {{ fsid }} --addv a '[v2:{{ mon_addr }}:3300,v1:{{ mon_addr }}:6789]' "$tmp/monmap"
        chown -R ceph:ceph "$tmp"
        install -d -o ceph -g ceph -m 0750 {{ mon_dir }}
        ceph-mon --cluster {{ cluster }} --mkfs -i a --monmap "$tmp/monmap" --keyring "$tmp/keyring" \
          --setuser ceph --setgroup ceph
        rm -rf "$tmp"
        touch {{ mon_dir }}/done
    - creates: {{ mon_dir }}/done
    - require:
      - file: test-services-ceph-config
      - cmd: test-services-ceph-admin-keyring

test-services-ceph-mon-running:
  service.running:
    - name: ceph-mon@a
    - enable: true
    - require:
      - cmd: test-services-ceph-mon-mkfs
    - watch:
      - file: test-services-ceph-config
      - file: test-services-ceph-mon-cluster-name

test-services-ceph-mon-answers:
  cmd.run:
    - name: for attempt in $(seq 30); do {{ ceph }} mon stat && exit 0; sleep 2; done; exit 1
    - unless: {{ ceph }} mon stat
    - require:
      - service: test-services-ceph-mon-running

test-services-ceph-mgr-keyring:
  cmd.run:
    - name: >-
        install -d -o ceph -g ceph -m 0750 {{ mgr_dir }} &&
        {{ ceph }} auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *'
        -o {{ mgr_dir }}/keyring.part &&
        chown ceph:ceph {{ mgr_dir }}/keyring.part && mv {{ mgr_dir }}/keyring.part {{ mgr_dir }}/keyring
    - creates: {{ mgr_dir }}/keyring
    - require:
      - cmd: test-services-ceph-mon-answers

test-services-ceph-mgr-running:
  service.running:
    - name: ceph-mgr@x
    - enable: true
    - require:
      - cmd: test-services-ceph-mgr-keyring
    - watch:
      - file: test-services-ceph-config
      - file: test-services-ceph-mgr-cluster-name

# OSD 0 with the pillar's UUID (`osd new` returns the same id when run
# again), its key, then its bluestore; mkfs writes `ready` last.
test-services-ceph-osd-mkfs:
  cmd.run:
    - name: |
        set -e
        install -d -o ceph -g ceph -m 0750 {{ osd_dir }}
        {{ ceph }} osd new {{ osd_uuid }} 0
        {{ ceph }} auth get-or-create osd.0 mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' \
          -o {{ osd_dir }}/keyring
        chown ceph:ceph {{ osd_dir }}/keyring
        ceph-osd --cluster {{ cluster }} -i 0 --mkfs --osd-uuid {{ osd_uuid }} --setuser ceph --setgroup ceph
    - creates: {{ osd_dir }}/ready
    - require:
      - cmd: test-services-ceph-mon-answers

test-services-ceph-osd-running:
  service.running:
    - name: ceph-osd@0
    - enable: true
    - require:
      - cmd: test-services-ceph-osd-mkfs
    - watch:
      - file: test-services-ceph-config
      - file: test-services-ceph-osd-cluster-name

test-services-ceph-pool:
  cmd.run:
    - name: {{ ceph }} osd pool create {{ pool }} 8
    - unless: {{ ceph }} osd pool get {{ pool }} size
    - require:
      - cmd: test-services-ceph-mon-answers

{#- Every placement group active and clean (a scrub may run): the OSD is up
    and holds the pools. #}
{%- set pgs_clean = ceph ~ " pg stat -f json | python3 -c \"import json, sys; s = json.load(sys.stdin)['pg_summary']; "
      ~ "ok = sum(g['num'] for g in s['num_pg_by_state'] if {'active', 'clean'} <= set(g['name'].split('+'))); "
      ~ "sys.exit(not s['num_pgs'] or ok != s['num_pgs'])\"" %}
test-services-ceph-clean:
  cmd.run:
    - name: >-
        for attempt in $(seq 90); do {{ pgs_clean }} && exit 0; sleep 2; done; exit 1
    - unless: >-
        {{ pgs_clean }}
    - require:
      - service: test-services-ceph-mgr-running
      - service: test-services-ceph-osd-running
      - cmd: test-services-ceph-pool

test-services-ceph-pool-rbd:
  cmd.run:
    - name: timeout 120 rbd --cluster {{ cluster }} pool init {{ pool }}
    - unless: {{ ceph }} osd pool application get {{ pool }} rbd
    - require:
      - cmd: test-services-ceph-clean

# The pillar's key with the client's caps, in the form `auth get` prints,
# so that the import below is needed exactly when the cluster differs.
{%- set tab = '\t' %}
test-services-ceph-client-keyring:
  file.managed:
    - name: {{ client_keyring }}
    - mode: '0600'
    - show_changes: false
    - contents: |
        [{{ client }}]
        {{ tab }}key = {{ storage.client_glance_key }}
        {{ tab }}caps mon = "profile rbd"
        {{ tab }}caps osd = "profile rbd pool={{ pool }}"
    - require:
      - pkg: test-services-ceph-installed

test-services-ceph-client-imported:
  cmd.run:
    - name: {{ ceph }} auth import -i {{ client_keyring }}
    - unless: {{ ceph }} auth get {{ client }} 2>/dev/null | cmp -s - {{ client_keyring }}
    - require:
      - cmd: test-services-ceph-pool-rbd
      - file: test-services-ceph-client-keyring
