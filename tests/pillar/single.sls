# Single node: MariaDB, RabbitMQ and Keystone on the same host as Glance.
# Passwords carry URL and oslo.config metacharacters (@ / $ :) on purpose.
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
      password: "Gl@nce$db/1:x"
    identity:
      engine: keystone
      host: 127.0.0.1
      port: 5000
      region: RegionTwo
      tenant: service
      user: glance
      password: "Ks$ecret@glance"
    message_queue:
      engine: rabbitmq
      host: 127.0.0.1
      port: 5672
      user: openstack
      password: "R4bbit@pass:word"
      virtual_host: /openstack
    notification:
      enabled: true
    # The memcached of the test services: keystonemiddleware's token cache.
    cache:
      members:
        - host: 127.0.0.1
          port: 11211
    storage:
      engine: file
    # Only what a real cloud would restrict: users still delete their own
    # images (Tempest's image tests do).
    policy:
      publicize_image:
        - role:admin
    # The billing code is the cloud's to set: members read it only. Every
    # other property stays open (the formula's closing rule for .*).
    property_protection:
      format: roles
      rules:
        - property: ^x_billing_code$
          create: [admin]
          read: [admin, member]
          update: [admin]
          delete: [admin]
    # Per-project quotas from Keystone's unified limits; the suite's own
    # images and Tempest's stay well under these defaults.
    limits:
      enabled: true
      image_size_total: 4096
      image_count_total: 500
    # Rows deleted more than 30 days ago purged nightly (the defaults).
    db_purge:
      enabled: true
    # The image cache on, kept under 8 MiB by its pruner's timer.
    image_cache:
      enabled: true
      max_size: 8388608
    # A dashboard on another origin may call the API from the browser.
    cors:
      allowed_origin:
        - https://dashboard.example.com
      max_age: 600
    # Served by the test_services.image_source fixture (made with qemu-img).
    images:
      # The old formula's list form, as it is.
      - name: "Seed list form"
        format: qcow2
        file: pattern.qcow2
        source: http://127.0.0.1:8090/pattern.qcow2
        public: true
      # The full form: a local file, every digest verified.
      - name: seed-full-form
        source: /srv/image-source/pattern.raw
        disk_format: raw
        container_format: bare
        visibility: shared
        protected: true
        min_disk: 1
        min_ram: 128
        properties:
          hw_disk_bus: ide
          hw_vif_model: virtio
        tags:
          - seeded
          - pattern
        checksums:
          md5: d10939b27d5ba6c7d6e1cb8d0156f9bc
          sha256: fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10
          sha512: "9c0723db1c6c25e5f7833afa2a24d6906626580f8c47f05bfe3d530cb6c2842d\
            b7336e36adc2e27c6a4a07aef840e8945ff82448a59c000e0d74a14c3460b6ca"
        on_change: rotate
        backups: 2
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
      admin_password: "Adm1n$ecret"
      admin_project: admin
      admin_domain: Default
      roles:
        - admin
        - service
      endpoints:
        public: http://127.0.0.1:9292
        internal: http://127.0.0.1:9292
        admin: http://127.0.0.1:9292
