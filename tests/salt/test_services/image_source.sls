# -*- coding: utf-8 -*-
# vim: ft=sls
#
# Test fixture: disk images made with qemu-img, served over HTTP on port
# 8090 (python3's http.server, which answers HEAD with Last-Modified and
# Content-Length) from /srv/image-source, for the images the suites' pillars
# seed. pattern.raw has fixed content (4 MiB: 1 MiB of 0x5a, then 1 MiB of
# zeros, 512 KiB of 0xa5, zeros), so a pillar can carry its digests;
# pattern.qcow2 is its qcow2 conversion, whose bytes depend on the qemu
# version, so it is seeded without digests.
{%- set root = '/srv/image-source' %}

test-services-image-source-qemu-utils-installed:
  pkg.installed:
    - name: qemu-utils

test-services-image-source-directory:
  file.directory:
    - name: {{ root }}
    - mode: '0755'

test-services-image-source-pattern-raw:
  cmd.run:
    - name: >-
        qemu-img create -q -f raw {{ root }}/pattern.raw.part 4M &&
        qemu-io -f raw -c 'write -q -P 0x5a 0 1M' -c 'write -q -P 0xa5 2M 512K'
        {{ root }}/pattern.raw.part &&
        mv {{ root }}/pattern.raw.part {{ root }}/pattern.raw
    - creates: {{ root }}/pattern.raw
    - require:
      - pkg: test-services-image-source-qemu-utils-installed
      - file: test-services-image-source-directory

test-services-image-source-pattern-qcow2:
  cmd.run:
    - name: >-
        qemu-img convert -q -f raw -O qcow2 {{ root }}/pattern.raw
        {{ root }}/pattern.qcow2.part &&
        mv {{ root }}/pattern.qcow2.part {{ root }}/pattern.qcow2
    - creates: {{ root }}/pattern.qcow2
    - require:
      - cmd: test-services-image-source-pattern-raw

test-services-image-source-unit:
  file.managed:
    - name: /etc/systemd/system/test-image-source.service
    - mode: '0644'
    - contents: |
        [Unit]
        Description=HTTP server of the test images in {{ root }}
        After=network.target

        [Service]
        ExecStart=/usr/bin/python3 -m http.server 8090 --directory {{ root }}
        Restart=on-failure

        [Install]
        WantedBy=multi-user.target

test-services-image-source-running:
  service.running:
    - name: test-image-source
    - enable: true
    - watch:
      - file: test-services-image-source-unit
    - require:
      - cmd: test-services-image-source-pattern-qcow2
