# Several stores (file, rbd, http, cinder) with a default, TLS to RabbitMQ,
# memcached with protected tokens, and raw overrides (one key added, one
# removed).
glance:
  server:
    version: '2025.1'
    identity:
      host: keystone.example.org
      password: ks-secret
    message_queue:
      host: rabbit.example.org
      port: 5671
      user: glance
      password: mq-secret
      ssl:
        enabled: true
        cacert_file: /etc/ssl/certs/rabbit-ca.pem
    notification:
      topics: notifications,glance_audit
    cache:
      members:
        - host: 10.0.0.21
        - host: 10.0.0.22
          port: 11212
      security:
        enabled: true
        strategy: MAC
        secret_key: mem$ecret
    stores:
      local:
        type: file
        path: /srv/glance/images
        description: Local disk
        weight: 10
      ceph:
        type: rbd
        pool: images
        user: glance
        client_glance_key: AQBvaBFZAAAAABAA9VHgwCgAUOwTkhM2oqGG0g==
        rbd_thin_provisioning: true
      web:
        type: http
      volumes:
        type: cinder
        cinder_volume_type: glance
        cinder_catalog_info: volumev3::internalURL
    default_store: ceph
    ceph:
      manage_conf: false
    config:
      glance-api.conf:
        DEFAULT:
          debug: true
        oslo_messaging_notifications:
          topics: ~
