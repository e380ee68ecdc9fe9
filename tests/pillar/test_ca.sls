# A CA that the hosts of a multi-node suite share, for the
# test_services.tls fixture: each host that serves TLS signs its own
# certificate with it, and every host trusts it. Test-only: the key is
# public, here, and protects nothing.
test_services:
  tls:
    ca:
      cert: |
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
      key: |
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7tDE40zVL35Lw
        OnZ16N4fCPZhxB2f88KnqDNxsZi5oqJ7qZ+T1iaUFN4eCC+1BpAIKiq5eoarcWT1
        1JH66DqragbebzRZGR1H/UBYcKENML2DnqiBUb4IpEKMBMAnFNeb4Ghqa7vf/7zm
        Zq6Dl2oiuPcoyL4OvpQQ1g1bxBLRPgKKUw1HBcE813bUaUUBSuRkHOeRiNe5bj07
        Yoy5RfXjG3HbXANtUT5lOjeVb0lbCj/iv9I92+jYBEH+4SX7j5tVwk8Nrl11KypB
        eLgFd+ivjyennnRwGpn4+9a2JXR0lH0xBT0gIE0gIzvZjTSb9I0Dp/HqpwS/5+zS
        IWFpT48BAgMBAAECggEAA2UDaRh0TmgxPuCDWQs2v2Eo5Gv2/oZTeaj2Eov4do6K
        vQ0f7ue9HqYFEzja5q9RXYRve9BaAnjX9nf0PTv1tlVzxMsp1flVvpBT0lr3+xuk
        qOAnkKcndlNvfnCJxtzwaNZDkLZ49a3+cK58tiPcUdtTmkxw3wnWL3PDHdy9ItNa
        2Z1UsBoxdUVyWrJYipAq/spB7YE7crrryJt4+oAsLVjwNsNEFMmgBPUVA2MoFR4C
        JTxlMHSMkkFHClUE5BlKJHoAXAT7TVRVJ7JuYgzZuOTSZA2fNtR+2ojRoL5k0lgS
        f6o2JgltoPtgwdxuhGVJ8QlY+5H8LWgIvmFvwAp+EQKBgQDzRo9nxeLl3z5C3TTR
        VabDNK48KgecyWy17WjI+dH7rd/NS3Cmqd+tur2zQdXFiwmn/Er1CHTrQLElQp64
        LKXfGegYM1N5Ashfdn+SBGvTj2FeN7cy7dOIufNCLTcQ6SzQzrslXpYDdACdiuJz
        IRm88N02sDuHD1n0M7Zby5LydQKBgQDFhYf3j3D/Vg8rDhGmR9Gt+VTV1pxcCmW8
        A0hbC39+npa3/oASSD81V8+h9dJpYNFzOX9Ciq4eXk+j+8XM9ryc0j+lgkzU0/9t
        NqCS7b/Wivpd8o1w4bzBico4FpgV3hr1LrSkSjw+EG03ZRbpI9PN3gDMKljsDLbJ
        FSzoWptA3QKBgAliT2XRXE9BrUUnA0KP6z7caVwowuJpYqgh4EjgWhk7O8bPgijr
        pJUu/uJLR9O26UhxkvKgwOHSPQMS7sxr7HoOpcVJNY8VbGVCTOl1AjPG9BqOS6LL
        Sb2cbqW+2MDuPaxQTSfD3kWD1AI/uTx3qmZ/ZAkYAzPSg8XHuOERmTmBAoGBAIxj
        IASAWxvgGt/LHBhHK2yvrfBenLt+WFiNLLwpK/De3tjfdj+IQgSz6MuAYJCtU7DF
        yQGOd7r15Tz0Ed5f8Ca1+K62Mc2C8CS7kt1bReJC3Tgw0P7OMs6MFMJQrL++IQLq
        s1GhwbeLDVU18Fa8NCo6A+8YmiML1k6NUmHDJF2xAoGAZLi2y9TKdtmyRLkstEcf
        BNrbnsrjjEKkwnYY7AUeQQgtzg+Ah2wLwXe/bie5nIfAUNA/P5lYpP+KOMTC0dBn
        XOQXyms3kqFdwQQ35AV3ae4wxZmEbz+0ODSelokqbS2SUMTbfmTb1UE5WL/ZEBt/
        FWk/j8svc5x+lMu1KRXpxz0=
        -----END PRIVATE KEY-----
