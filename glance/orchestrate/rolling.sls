# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orchestrate glance.orchestrate.rolling`, on the master:
# applies `glance` to the API nodes (glance_orchestrate:api_nodes, by default
# the primary and the secondaries) one at a time, each drained first and
# healthy again before the next (turns.jinja). A failed step stops the run,
# the node left drained.
{%- from tpldir ~ "/settings.jinja" import orchestrate with context %}
{%- from tpldir ~ "/turns.jinja" import drained_turn, minions with context %}
{%- set previous = [] %}
{%- for node in minions(orchestrate.api_nodes, 'rolling') | load_json %}
{{-   drained_turn(orchestrate, 'glance-orchestrate-rolling', node,
                   ('glance-orchestrate-rolling-' ~ previous[-1] ~ '-settled') if previous else none,
                   orchestrate.pillar) }}
{%-   do previous.append(node) %}
{%- endfor %}
