# Over single.sls in the single suite: glance-api under uWSGI, serving
# HTTPS itself (the eventlet server has no TLS), with the site's own PKI:
# the test_services.tls fixture's CA and the certificate it signs for this
# host, its key readable by the glance group. Keystone registers the https
# endpoints, and every client on the host verifies them with that CA.
glance:
  lookup:
    api_server: uwsgi
  server:
    bind:
      ssl:
        enabled: true
        cert_file: /etc/ssl/test-ca/server.crt
        key_file: /etc/ssl/test-ca/glance-api.key
        cacert_file: /etc/ssl/test-ca/ca.crt
  bootstrap:
    identity:
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
