# The old formula's "Ceph integration glance" sample, verbatim.
glance:
  server:
    enabled: true
    version: juno
    storage:
      engine: rbd
      user: glance
      pool: images
      chunk_size: 8
      client_glance_key: AQDOavlU6BsSJhAAnpFR906mvdgdfRqLHwu0Uw==
