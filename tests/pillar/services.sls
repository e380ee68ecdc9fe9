# Pillar of the test-only service states under tests/salt (MariaDB, RabbitMQ,
# memcached, Keystone). Everything else they need comes from the suite's
# glance pillar.
test_services:
  keystone:
    database:
      name: keystone
      user: keystone
      password: "K3ystone$db@pw/x"
    # uWSGI processes of the Keystone API (the package's default is 8).
    processes: 2
