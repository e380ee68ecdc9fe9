# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orchestrate glance.orchestrate.rolling`, on the master:
# applies `glance` to the API nodes (glance_orchestrate:api_nodes, by default
# the primary and the secondaries) one at a time. Before each apply the node
# is drained: its /healthcheck answers 503 while the file
# glance_orchestrate:drain_file exists (oslo.middleware's healthcheck in the
# packages' glance-api-paste.ini), so a load balancer that checks it stops
# sending requests there (drain_seconds). After the apply the file goes, and
# the next node waits until this one's healthcheck answers 200 again
# (health_url, at most wait_seconds) and the load balancer took it back
# (settle_seconds). A failed step stops the run, the node left drained.
{%- from tpldir ~ "/settings.jinja" import orchestrate with context %}
{%- set pillar_override = orchestrate.pillar %}
{%- set nodes = salt['saltutil.runner']('cache.grains', tgt=orchestrate.api_nodes,
                                        tgt_type='compound') | default({}, true) | list | sort %}
{%- if not nodes %}
{{ raise('glance.orchestrate.rolling: no accepted minion matches ' ~ orchestrate.api_nodes) }}
{%- endif %}
{%- set previous = [] %}

{%- for node in nodes %}

glance-orchestrate-rolling-{{ node }}-drain:
  salt.function:
    - name: file.touch
    - tgt: {{ node | yaml_dquote }}
    - tgt_type: list
    - arg:
      - {{ orchestrate.drain_file | yaml_dquote }}
    - expect_minions: true
{%-   if previous %}
    - require:
      - salt: glance-orchestrate-rolling-{{ previous[-1] }}-settled
{%-   endif %}

glance-orchestrate-rolling-{{ node }}-drained:
  salt.runner:
    - name: test.sleep
    - s_time: {{ orchestrate.drain_seconds }}
    - require:
      - salt: glance-orchestrate-rolling-{{ node }}-drain

glance-orchestrate-rolling-{{ node }}-apply:
  salt.state:
    - tgt: {{ node | yaml_dquote }}
    - tgt_type: list
    - sls: glance
    - expect_minions: true
{%-   if pillar_override %}
    - pillar: {{ pillar_override | json }}
{%-   endif %}
    - require:
      - salt: glance-orchestrate-rolling-{{ node }}-drained

glance-orchestrate-rolling-{{ node }}-undrain:
  salt.function:
    - name: file.remove
    - tgt: {{ node | yaml_dquote }}
    - tgt_type: list
    - arg:
      - {{ orchestrate.drain_file | yaml_dquote }}
    - expect_minions: true
    - require:
      - salt: glance-orchestrate-rolling-{{ node }}-apply

glance-orchestrate-rolling-{{ node }}-healthy:
  http.wait_for_successful_query:
    - name: {{ orchestrate.health_url.replace('{minion}', node) | yaml_dquote }}
    - status: 200
    - wait_for: {{ orchestrate.wait_seconds }}
    - request_interval: 1
    - require:
      - salt: glance-orchestrate-rolling-{{ node }}-undrain

glance-orchestrate-rolling-{{ node }}-settled:
  salt.runner:
    - name: test.sleep
    - s_time: {{ orchestrate.settle_seconds }}
    - require:
      - http: glance-orchestrate-rolling-{{ node }}-healthy
{%-   do previous.append(node) %}
{%- endfor %}
