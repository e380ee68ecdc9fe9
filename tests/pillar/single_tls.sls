# Over single.sls in the single suite: TLS with the site's own PKI, here the
# CA and the certificate for this host that the test_services.tls fixture
# makes (the CA joins the system's trust store).
# - glance-api under uWSGI, serving HTTPS itself (the eventlet server has no
#   TLS), its key readable by the glance group; Keystone registers the https
#   endpoints;
# - Keystone on HTTPS (the test_services.keystone fixture follows
#   identity:protocol): glance-api's token checks, its quota lookups, the
#   bootstrap and image seeding verify it with the CA, one bundle for both
#   (identity:cacert_file, so bind:ssl gives none of its own);
# - MariaDB offering TLS (the test_services.mariadb fixture follows
#   database:ssl), and Glance's connection verifying it with the CA;
# - RabbitMQ speaking AMQP over TLS only, on the same port (the
#   test_services.rabbitmq fixture follows message_queue:ssl).
glance:
  lookup:
    api_server: uwsgi
  server:
    bind:
      ssl:
        enabled: true
        cert_file: /etc/ssl/test-ca/server.crt
        key_file: /etc/ssl/test-ca/glance-api.key
    identity:
      protocol: https
      cacert_file: /etc/ssl/test-ca/ca.crt
    database:
      ssl:
        enabled: true
        cacert_file: /etc/ssl/test-ca/ca.crt
    message_queue:
      ssl:
        enabled: true
        cacert_file: /etc/ssl/test-ca/ca.crt
  bootstrap:
    identity:
      auth_url: https://127.0.0.1:5000/v3
      cacert: /etc/ssl/test-ca/ca.crt
      endpoints:
        public: https://127.0.0.1:9292
        internal: https://127.0.0.1:9292
        admin: https://127.0.0.1:9292
# The fixture: a CA and this host's certificate, made on the host.
test_services:
  tls:
    names:
      - localhost
      - 127.0.0.1
