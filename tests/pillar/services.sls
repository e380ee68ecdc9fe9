# Pillar of the test-only service states under tests/salt (MariaDB, RabbitMQ,
# memcached, Keystone). Everything else they need comes from the suite's
# glance pillar.
test_services:
  keystone:
    database:
      name: keystone
      user: keystone
      # Letters, digits, '-' and '_' only: keystone-manage db_sync hands the
      # database URL to alembic's configparser, which rejects the '%' of
      # URL-encoded characters, and oslo.config expands '$'.
      password: K3ystone-db_pw
    # uWSGI processes of the Keystone API (the package's default is 8).
    processes: 2
