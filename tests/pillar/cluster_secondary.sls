# Added on top of cluster.sls for the second Glance node.
glance:
  server:
    role: secondary
