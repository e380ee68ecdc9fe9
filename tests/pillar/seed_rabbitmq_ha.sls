# The old formula's "Client-side RabbitMQ HA setup" sample, on the sample
# pillar it abbreviates with "....".
glance:
  server:
    enabled: true
    version: juno
    database:
      engine: mysql
      host: 127.0.0.1
      port: 3306
      name: glance
      user: glance
      password: pwd
    message_queue:
      engine: rabbitmq
      members:
        - host: 10.0.16.1
        - host: 10.0.16.2
        - host: 10.0.16.3
      user: openstack
      password: pwd
      virtual_host: '/openstack'
