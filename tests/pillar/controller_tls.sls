# The controller of a multi-node suite: its certificate, for the name the
# other nodes reach it by (and the loopback, for the tests' clients on the
# controller), signed by the suite's shared CA (test_ca.sls) in the
# test_services.tls fixture.
test_services:
  tls:
    names:
      - controller
      - localhost
      - 127.0.0.1
