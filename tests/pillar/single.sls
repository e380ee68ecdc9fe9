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
    storage:
      engine: file
    policy:
      publicize_image:
        - role:admin
      delete_image: "role:admin"
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
