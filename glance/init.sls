# -*- coding: utf-8 -*-
# vim: ft=sls
# `state.apply glance`: the Glance server.
include:
  - .server
