# The old formula's "Keystone and cinder region" sample, with the password
# its "..." stands for.
glance:
  server:
    enabled: true
    version: kilo
    identity:
      engine: keystone
      host: 127.0.0.1
      region: RegionTwo
      password: pwd
