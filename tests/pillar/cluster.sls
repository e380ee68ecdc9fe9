# Cluster: two Glance API nodes behind one controller (MariaDB, Keystone,
# two RabbitMQ nodes listed as HA members, and a one-node Ceph that holds
# the images of both nodes). This file is the primary's pillar; the
# secondary adds cluster_secondary.sls on top. The controller reads it too:
# its test Ceph (services_ceph.sls) takes the pool and imports the client
# key of `storage`, so this file is the key's one source, and listens on
# the address `controller` resolves to there.
glance:
  lookup:
    # HTTPS on the nodes' own socket (the eventlet server has no TLS).
    api_server: uwsgi
  server:
    enabled: true
    role: primary
    workers: 2
    bind:
      address: 0.0.0.0
      port: 9292
      # HAProxy speaks TLS to the nodes too, and verifies them. One
      # certificate for both nodes (their names, `glance`, and the loopback
      # that image seeding uses), from the suite's CA (test_ca.sls), given
      # as PEM: the formula writes them under /etc/glance/ssl. Test-only
      # key.
      ssl:
        enabled: true
        cert: |
          -----BEGIN CERTIFICATE-----
          MIIDdTCCAl2gAwIBAgIUFOnp03N7S+Dh1C3xxQaa7lwIB5QwDQYJKoZIhvcNAQEL
          BQAwNTEzMDEGA1UEAwwqR2xhbmNlIGZvcm11bGEgdGVzdCBDQSAoc2hhcmVkIGJ5
          IGEgc3VpdGUpMB4XDTI2MTIwNTA4NTEyNVoXDTQ2MTEzMDA4NTEyNVowETEPMA0G
          A1UEAwwGZ2xhbmNlMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApWpd
          p8Gkkv5S1PaZULB/eTI5BPQXzn/FSM5AKhOPD2RZPneBIARDAZc5VIQw9xvugaxg
          ZF/PR/MvioFrtxhWs57al7wjVOnyS3WgQyGbuLJ3yQbIwWmXY9Xu23g6HQqcLWKl
          +2AUtljV4AgH+eA763lN9JrzgzheaioGSVUz+xB8ZYusMKEUNGA5uMWuBYbRoNkn
          33uEF/854ctWmSgJEv/IGGAjxhojUvd+MQx1skx7r7HY5ZisgdHokNBgFMNwkAi9
          p/YW6CloJraC+3symwLYA9M7OoJKvTpCfYdTTu31/XeEtpeNJCp0WlZA+X4NscYg
          ht0VqICVBuksG8hxDwIDAQABo4GgMIGdMDYGA1UdEQQvMC2CCGdsYW5jZS0xgghn
          bGFuY2UtMoIGZ2xhbmNlgglsb2NhbGhvc3SHBH8AAAEwEwYDVR0lBAwwCgYIKwYB
          BQUHAwEwDgYDVR0PAQH/BAQDAgWgMB8GA1UdIwQYMBaAFEWpHlJYZRhXkDtLTVHJ
          yOEDHgfCMB0GA1UdDgQWBBSCBbLuZjk+s/cBMJyPvOuDKMS8TjANBgkqhkiG9w0B
          AQsFAAOCAQEAHBSUqK/ftlVEoEfBxk0CDhEwonuNLxylbYPR5HWzJQQ4Z91Nq2Ku
          vTUhvghd4EO3VFE8lSNoiCDoTtamH5NEIDz6madhHPJhhzm1RO1DQdEq+SwkR+wL
          iOz/DMWlM8Bfcs1prPaYsnGZjjVTSR4dpbmV7mhnlRC/Y6DoWySRQCiU22aSU2lQ
          ZB+JRFJYTvtV2QvONGN6CdA7mCEMx0lGdBY/AGOBJ0ch8SyYByPr0xil3ErPPGrL
          YPjU+miTw870JK8XIBZCshbv66L79mbyOqSZ+d9A6+TZSVaB9Kc/3Tc/kiZt+/Sz
          FlFJBepG1Svm0CaFFcBGNitH2poH11h/EA==
          -----END CERTIFICATE-----
        key: |
          -----BEGIN PRIVATE KEY-----
          MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQClal2nwaSS/lLU
          9plQsH95MjkE9BfOf8VIzkAqE48PZFk+d4EgBEMBlzlUhDD3G+6BrGBkX89H8y+K
          gWu3GFazntqXvCNU6fJLdaBDIZu4snfJBsjBaZdj1e7beDodCpwtYqX7YBS2WNXg
          CAf54DvreU30mvODOF5qKgZJVTP7EHxli6wwoRQ0YDm4xa4FhtGg2Sffe4QX/znh
          y1aZKAkS/8gYYCPGGiNS934xDHWyTHuvsdjlmKyB0eiQ0GAUw3CQCL2n9hboKWgm
          toL7ezKbAtgD0zs6gkq9OkJ9h1NO7fX9d4S2l40kKnRaVkD5fg2xxiCG3RWogJUG
          6SwbyHEPAgMBAAECggEALkyMxUEylsAfoCMbu5WDQIF5qzTFGxPxPNUZ6Y0K7FR6
          lDzvw+3dcWsJ7WmIqQnE4r/ERSP6CRn8swhRhXCHCASNC45p10EaA9v7DP8xrmsp
          kvdWpqgu6w88qWpH3cwT9bIYYjk84uMPjgLBdMO6EckktDPQt+hFqPJ1Sv5Rq9I4
          atz0GBkiByQnMb/qEXJtPNtEkNZI2w59NiTSI1+/b9+qdahsGAQKyv+a/wYiTDp+
          j9znanN/bEssAxGXhn5O7nDK5I9EZL8zBmYo3lp3Wj7WWarEIBjQhrQzF2QQaggF
          XeljMsZvarYWMv/fxzUjH0J4l3owx3RZEgcUubhzwQKBgQDegkOFqPoZkjmmaMmO
          RwBaz92bZUovcM1Ienw5L5fbojnMSmUsRcC9ZyewbpPTdeZTXnVAS8DwiCjXHudG
          nynXQQ5TR7wT8RKmVBlt8lWdmLgez0S/Rf1MpRJKp1sEu0P47fk3N4PhBLdVhgAi
          86WiRZKoT97YAKlYu4p9J/w1wQKBgQC+UCytzb4aKbVxups827FyGi5kIuaQ9XDk
          8GeDSaXMPjPnD8btwQhr9N0Ro6syzM26JP1xGATpSTUskmX/FqkMkRkdJWEcFCE7
          9NS05n1ZC2NztHJhQmpJRkb3jmVOODgKP/HXkRlZh6Firor1GJUVtPyao0QZuWGt
          fEa0Ift6zwKBgCkT/Wk4l+uOnkwFfmhg3UTmqS/eFEML3SorSrG4Ap4OpgL8HQ9+
          VSXiXGZrE6lvU7VCc/0JvzXovTlxwBq+mZfer8laLfO0hs/kKMmuenXc0ukFNNjn
          D+tNckIMAXavJ85WCLNT8WniWAJW+cF6H7MEix29mRNhk+IIxXlzn1FBAoGBAKKt
          /BMxvN+2aYBnCA30qfEkSiWU48xj0fYRPhqu2MgHH+zSwrQ3fpBxxosugcgx42XL
          +s0yv/f+eTK5jfCImUbBvVr5udH7rxEGTtC3+cwk/QVJ6UAUOrCaH0277gL38Ydp
          c7xWLvomAyFMnEG4mq/sfsVc7Hiky8c1ZWbTaZlnAoGAQl+EuadFkGfgWCE4Mz+e
          thmhHp1bKFdpwN3Aixg5AhS0Hmaq+QkS1b3TR2IitTwhRwmsaOW5UrnbgvJaMPOR
          3sup5RGyPbQExGiKZ8RgOOnSdAqsawvapc7ijHQlczQlA8WVn3XhwRJIz5r70PMA
          OOv4LvbaMYfh9O+JyFMs1rE=
          -----END PRIVATE KEY-----
        cacert: |
          -----BEGIN CERTIFICATE-----
          MIIDWzCCAkOgAwIBAgIUWJKcOWOyKafkqmCiT3Ga0y6oDK0wDQYJKoZIhvcNAQEL
          BQAwNTEzMDEGA1UEAwwqR2xhbmNlIGZvcm11bGEgdGVzdCBDQSAoc2hhcmVkIGJ5
          IGEgc3VpdGUpMB4XDTI2MTIwNTA4NDI0OFoXDTQ2MTEzMDA4NDI0OFowNTEzMDEG
          A1UEAwwqR2xhbmNlIGZvcm11bGEgdGVzdCBDQSAoc2hhcmVkIGJ5IGEgc3VpdGUp
          MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu7QxONM1S9+S8Dp2deje
          Hwj2YcQdn/PCp6gzcbGYuaKie6mfk9YmlBTeHggvtQaQCCoquXqGq3Fk9dSR+ug6
          q2oG3m80WRkdR/1AWHChDTC9g56ogVG+CKRCjATAJxTXm+Boamu73/+85maug5dq
          Irj3KMi+Dr6UENYNW8QS0T4CilMNRwXBPNd21GlFAUrkZBznkYjXuW49O2KMuUX1
          4xtx21wDbVE+ZTo3lW9JWwo/4r/SPdvo2ARB/uEl+4+bVcJPDa5ddSsqQXi4BXfo
          r48np550cBqZ+PvWtiV0dJR9MQU9ICBNICM72Y00m/SNA6fx6qcEv+fs0iFhaU+P
          AQIDAQABo2MwYTAdBgNVHQ4EFgQURakeUlhlGFeQO0tNUcnI4QMeB8IwHwYDVR0j
          BBgwFoAURakeUlhlGFeQO0tNUcnI4QMeB8IwDwYDVR0TAQH/BAUwAwEB/zAOBgNV
          HQ8BAf8EBAMCAQYwDQYJKoZIhvcNAQELBQADggEBAI+xNMAxoY0EoDlHk0hpNvLy
          q/GdTiJays6Vp+yjIiJK+PhhRNg46vAakR/IODwbAKGjCHyNWGocn1/zsuUzDfXs
          DU7DEC28yrWe+BzLyB7DvQsDn2Cpztk5133uM5GzsgyWKZJCLIeXHP9r2xiSddFu
          lJrdkpGKrPBdlrYTAJO3Xtlw60ZKUlKYdpKRcJcwLZ851Pf36IkgGndHtbE9cGdF
          SUhAsyowHgos2BEzJ/MKHhQsiJ8qg3pcmta1zxxb2Y21bC5zl41jNp9PA4lGUYhG
          7mo0oHLTHQQDZ+8n/N2YYHJwMfbLqWML+X+bAp9x+4v/hT4Im7Z3ORdbvjYk4wI=
          -----END CERTIFICATE-----
    database:
      engine: mysql
      host: controller
      port: 3306
      name: glance
      user: glance
      password: "Cluster$db@pw"
    identity:
      engine: keystone
      host: controller
      port: 5000
      region: RegionOne
      tenant: service
      user: glance
      password: "Cluster$ks@pw"
    message_queue:
      engine: rabbitmq
      members:
        - host: controller
          port: 5672
        - host: controller
          port: 5673
      user: openstack
      password: "Cluster$mq@pw"
      virtual_host: /openstack
    notification:
      enabled: true
    cache:
      members:
        - host: controller
          port: 11211
    # The old formula's rbd storage block, as single_ceph.sls has it.
    storage:
      engine: rbd
      user: glance
      pool: images
      chunk_size: 8
      client_glance_key: AQAyoghrZFnpMRAAqNR3MbUnsfIg2d82hMJVQA==
    ceph:
      # The network alias: Ceph clients resolve names in mon_host.
      mon_host:
        - controller
    show_image_direct_url: true
    # Clients come through HAProxy (the controller), which terminates TLS
    # for them and sets X-Forwarded-Proto.
    behind_proxy: true
    # Each node stages glance-direct uploads on its own disk: the other
    # node proxies their import to it, by its name on the network, over
    # HTTPS (the node's requests trusts the host's CA bundle, where the
    # site's CA is).
    worker_self_reference_url: "https://{minion}:9292"
    # Seeded by the primary only, from the controller's test image server.
    images:
      - name: cluster-seed
        source: http://controller:8090/pattern.raw
        disk_format: raw
        visibility: public
        checksums:
          sha256: fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10
  bootstrap:
    database:
      # Remote administrator account on the controller's MariaDB.
      admin_user: root
      admin_password: "Cluster$root@pw"
      host: controller
      port: 3306
      allowed_hosts:
        - "%"
    identity:
      auth_url: http://controller:5000/v3
      admin_user: admin
      admin_password: "Cluster$admin@pw"
      admin_project: admin
      admin_domain: Default
      roles:
        - admin
        - service
      # The catalog names the load balancer, HAProxy on the controller.
      endpoints:
        public: https://controller:9292
        internal: https://controller:9292
        admin: https://controller:9292
