# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orchestrate glance.orchestrate.upgrade`, on the master,
# once the API nodes' pillar names the next release (or with
# glance_orchestrate:pillar giving it): every API node moves to it while
# the cluster keeps serving.
#   1. The new release's virtualenv is built on every API node at once
#      (glance.server.install.venv; nothing that serves changes, and with
#      the distribution's packages there is nothing to build).
#   2. Each API node in turn, the primary first, is drained, applied, and
#      put back once healthy (turns.jinja), with database:contract false:
#      the primary's schema step runs `glance-manage db expand` and
#      `db migrate` where `db check` says they are due, and a schema left
#      to contract counts as ready everywhere, since nodes of the previous
#      release still serve on it.
#   3. The contract (`glance-manage db contract`, when `db check` says it
#      is due) on the primary, once every node runs the new release.
# A failed step stops the run; its ID names the node (which stays drained)
# and the nodes not yet reached keep serving the previous release.
{%- from tpldir ~ "/settings.jinja" import orchestrate with context %}
{%- from tpldir ~ "/turns.jinja" import drained_turn, minions with context %}
{%- set prefix = 'glance-orchestrate-upgrade' %}
{%- set nodes = minions(orchestrate.api_nodes, 'upgrade') | load_json %}
{%- set primary = minions(orchestrate.primary, 'upgrade') | load_json %}
{%- if primary | length != 1 or primary[0] not in nodes %}
{{ raise('glance.orchestrate.upgrade: glance_orchestrate:primary must match one of the API nodes ('
         ~ nodes | join(', ') ~ '), not ' ~ primary | join(', ')) }}
{%- endif %}
{%- set turns = primary + nodes | reject('equalto', primary[0]) | list %}
{%- set contract_left = dict(glance=dict(server=dict(database=dict(contract=false)))) %}
{%- set rolling_pillar = salt['slsutil.merge'](orchestrate.pillar, contract_left, strategy='recurse') %}

{{ prefix }}-venv:
  salt.state:
    - tgt: {{ orchestrate.api_nodes | yaml_dquote }}
    - tgt_type: compound
    - sls: glance.server.install.venv
    - expect_minions: true
{%- if orchestrate.pillar %}
    - pillar: {{ orchestrate.pillar | json }}
{%- endif %}
{%- set previous = [prefix ~ '-venv'] %}
{%- for node in turns %}
{{-   drained_turn(orchestrate, prefix, node, previous[-1], rolling_pillar) }}
{%-   do previous.append(prefix ~ '-' ~ node ~ '-settled') %}
{%- endfor %}

{{ prefix }}-contract:
  salt.state:
    - tgt: {{ primary[0] | yaml_dquote }}
    - tgt_type: list
    - sls: glance.server.db
    - expect_minions: true
{%- if orchestrate.pillar %}
    - pillar: {{ orchestrate.pillar | json }}
{%- endif %}
    - require:
      - salt: {{ previous[-1] }}
