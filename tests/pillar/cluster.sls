# Cluster: two Glance API nodes behind one controller (MariaDB, Keystone,
# two RabbitMQ nodes listed as HA members, and a one-node Ceph that holds
# the images of both nodes). This file is the primary's pillar; the
# secondary adds cluster_secondary.sls on top. The controller reads it too:
# its test Ceph (services_ceph.sls) takes the pool and imports the client
# key of `storage`, so this file is the key's one source, and listens on
# the address `controller` resolves to there.
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
      host: controller
      port: 3306
      name: glance
      user: glance
      password: "Cluster$db@pw"
    identity:
      engine: keystone
      host: controller
      port: 5000
      region: RegionOne
      tenant: service
      user: glance
      password: "Cluster$ks@pw"
    message_queue:
      engine: rabbitmq
      members:
        - host: controller
          port: 5672
        - host: controller
          port: 5673
      user: openstack
      password: "Cluster$mq@pw"
      virtual_host: /openstack
    notification:
      enabled: true
    cache:
      members:
        - host: controller
          port: 11211
    # The old formula's rbd storage block, as single_ceph.sls has it.
    storage:
      engine: rbd
      user: glance
      pool: images
      chunk_size: 8
      client_glance_key: AQAyoghrZFnpMRAAqNR3MbUnsfIg2d82hMJVQA==
    ceph:
      # The network alias: Ceph clients resolve names in mon_host.
      mon_host:
        - controller
    show_image_direct_url: true
    # Clients come through HAProxy (the controller).
    behind_proxy: true
    # Each node stages glance-direct uploads on its own disk: the other
    # node proxies their import to it, by its name on the network.
    worker_self_reference_url: "http://{minion}:9292"
    # Seeded by the primary only, from the controller's test image server.
    images:
      - name: cluster-seed
        source: http://controller:8090/pattern.raw
        disk_format: raw
        visibility: public
        checksums:
          sha256: fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10
  bootstrap:
    database:
      # Remote administrator account on the controller's MariaDB.
      admin_user: root
      admin_password: "Cluster$root@pw"
      host: controller
      port: 3306
      allowed_hosts:
        - "%"
    identity:
      auth_url: http://controller:5000/v3
      admin_user: admin
      admin_password: "Cluster$admin@pw"
      admin_project: admin
      admin_domain: Default
      roles:
        - admin
        - service
      # The catalog names the load balancer, HAProxy on the controller.
      endpoints:
        public: http://controller:9292
        internal: http://controller:9292
        admin: http://controller:9292
