# Glance 2026.2 from PyPI (install:method pypi) on a host that has only
# Salt, its services on another: `controller` runs MariaDB, two RabbitMQ
# nodes listed as HA members, memcached, Keystone and a one-node Ceph
# (services_ceph.sls) that holds the images. The controller reads this file
# too: its test Ceph takes the pool and imports the client key of
# `storage`, so this file is the key's one source.
glance:
  server:
    enabled: true
    version: '2026.2'
    install:
      method: pypi
    role: primary
    workers: 2
    bind:
      address: 0.0.0.0
      port: 9292
    database:
      engine: mysql
      host: controller
      port: 3306
      name: glance
      user: glance
      password: "PyPI$db@pw"
    identity:
      engine: keystone
      host: controller
      port: 5000
      region: RegionOne
      tenant: service
      user: glance
      password: "PyPI$ks@pw"
    message_queue:
      engine: rabbitmq
      members:
        - host: controller
          port: 5672
        - host: controller
          port: 5673
      user: openstack
      password: "PyPI$mq@pw"
      virtual_host: /openstack
    notification:
      enabled: true
    cache:
      members:
        - host: controller
          port: 11211
      # memcached speaks TLS only there, with the controller's certificate
      # from the suite's shared CA (test_ca.sls), which the Glance node
      # gets too.
      ssl:
        enabled: true
        cacert_file: /etc/ssl/test-ca/ca.crt
    storage:
      engine: rbd
      user: glance
      pool: images
      chunk_size: 8
      client_glance_key: AQAFnhFrAAAAABAA7rbBnFCCHB4ZvlmseS7x2A==
    ceph:
      mon_host:
        - controller
    images:
      - name: pypi-seed
        source: http://controller:8090/pattern.raw
        disk_format: raw
        visibility: public
        checksums:
          sha256: fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10
  bootstrap:
    database:
      admin_user: root
      admin_password: "PyPI$root@pw"
      host: controller
      port: 3306
      allowed_hosts:
        - "%"
    identity:
      auth_url: http://controller:5000/v3
      admin_user: admin
      admin_password: "PyPI$admin@pw"
      admin_project: admin
      admin_domain: Default
      roles:
        - admin
        - service
      endpoints:
        public: http://glance:9292
        internal: http://glance:9292
        admin: http://glance:9292
