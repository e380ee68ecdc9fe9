# No Keystone: the empty paste flavor, with a MySQL database and the image
# cache (caching flavor).
glance:
  server:
    version: '2024.1'
    bind:
      address: 0.0.0.0
    database:
      engine: mysql
      host: db.example.org
      name: images
      user: images
      password: images-db
      ssl:
        enabled: true
        cacert_file: /etc/ssl/certs/db-ca.pem
    image_cache:
      enabled: true
      max_size: 21474836480
    policy:
      publicize_image: "role:admin"
