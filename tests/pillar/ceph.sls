# Ceph RBD single store with the formula writing ceph.conf and the keyring.
glance:
  server:
    version: zed
    identity:
      host: keystone.example.org
      region: RegionOne
      password: ks-secret
      cacert_file: /etc/ssl/certs/keystone-ca.pem
      protocol: https
    database:
      engine: postgresql
      host: pg.example.org
      user: glance
      password: pg-secret
    storage:
      engine: rbd
      user: glance-images
      pool: images
      chunk_size: 16
      client_glance_key: AQBvaBFZAAAAABAA9VHgwCgAUOwTkhM2oqGG0g==
    ceph:
      mon_host:
        - 10.0.0.11
        - 10.0.0.12
      global:
        auth_client_required: cephx
    show_image_direct_url: true
