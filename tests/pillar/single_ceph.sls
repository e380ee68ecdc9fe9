# Single node with Ceph RBD: MariaDB, RabbitMQ and Keystone as in single.sls,
# and a one-node Ceph (tests/salt/test_services/ceph.sls, switched on by
# services_ceph.sls) on the same host. The storage block is the old
# formula's, as it is; the test Ceph imports this client key with the caps
# of the pool, so this file is the key's one source.
glance:
  server:
    enabled: true
    role: primary
    workers: 2
    bind:
      address: 0.0.0.0
      port: 9292
    database:
      engine: mysql
      host: 127.0.0.1
      port: 3306
      name: glance
      user: glance
      password: "Gl@nce$rbd/db:1"
    identity:
      engine: keystone
      host: 127.0.0.1
      port: 5000
      region: RegionOne
      tenant: service
      user: glance
      password: "Ks$ecret@rbd"
    message_queue:
      engine: rabbitmq
      host: 127.0.0.1
      port: 5672
      user: openstack
      password: "R4bbit@rbd:pw"
      virtual_host: /openstack
    storage:
      engine: rbd
      user: glance
      pool: images
      chunk_size: 8
      client_glance_key: AQBYdwhrDw7/KhAAJ38k/BX9R4CKoACJq3DNfA==
    ceph:
      mon_host:
        - 127.0.0.1
    show_image_direct_url: true
    # Served by the test_services.image_source fixture (made with qemu-img).
    images:
      - name: seed-rbd
        source: http://127.0.0.1:8090/pattern.raw
        disk_format: raw
        container_format: bare
        checksums:
          sha256: fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10
  bootstrap:
    database:
      # The database server's administrator, reached on the local socket.
      admin_user: root
      unix_socket: /run/mysqld/mysqld.sock
      allowed_hosts:
        - localhost
        - "%"
    identity:
      auth_url: http://127.0.0.1:5000/v3
      admin_user: admin
      admin_password: "Adm1n$rbd"
      admin_project: admin
      admin_domain: Default
      roles:
        - admin
        - service
      endpoints:
        public: http://127.0.0.1:9292
        internal: http://127.0.0.1:9292
        admin: http://127.0.0.1:9292
