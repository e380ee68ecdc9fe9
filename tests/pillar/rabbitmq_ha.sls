# RabbitMQ HA members on a current release: every member in transport_url.
glance:
  server:
    version: '2026.1'
    message_queue:
      members:
        - host: rabbit1.example.org
        - host: rabbit2.example.org
          port: 5673
        - host: rabbit3.example.org
      user: openstack
      password: mq-secret
      virtual_host: openstack
