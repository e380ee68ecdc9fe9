# -*- coding: utf-8 -*-
# vim: ft=sls
# `salt-run state.orchestrate glance.orchestrate.deploy`, on the master:
# Glance's code on every API node at once (it needs no service), the
# database and Keystone bootstrap, the primary, the secondaries, then the
# images on the primary, each step only once the one before it succeeded.
# Targets come from the pillar key glance_orchestrate (README.rst,
# "Orchestration").
{%- from tpldir ~ "/settings.jinja" import orchestrate with context %}
{%- set pillar_override = orchestrate.pillar %}

{#- The installation is the longest step of a node's first apply and needs
    neither the database nor Keystone: one job on every node at once, so
    that the secondaries do not install one after the primary. #}
glance-orchestrate-deploy-install:
  salt.state:
    - tgt: {{ orchestrate.primary_and_secondaries | yaml_dquote }}
    - tgt_type: compound
    - sls: glance.server.install
    - expect_minions: true
{%- if pillar_override %}
    - pillar: {{ pillar_override | json }}
{%- endif %}

glance-orchestrate-deploy-bootstrap:
  salt.state:
    - tgt: {{ orchestrate.bootstrap | yaml_dquote }}
    - tgt_type: compound
    - sls: glance.bootstrap
    - expect_minions: true
{%- if pillar_override %}
    - pillar: {{ pillar_override | json }}
{%- endif %}

glance-orchestrate-deploy-primary:
  salt.state:
    - tgt: {{ orchestrate.primary | yaml_dquote }}
    - tgt_type: compound
    - sls: glance
    - expect_minions: true
{%- if pillar_override %}
    - pillar: {{ pillar_override | json }}
{%- endif %}
    - require:
      - salt: glance-orchestrate-deploy-install
      - salt: glance-orchestrate-deploy-bootstrap

{%- if orchestrate.secondaries %}

glance-orchestrate-deploy-secondaries:
  salt.state:
    - tgt: {{ orchestrate.secondaries | yaml_dquote }}
    - tgt_type: compound
    - sls: glance
    - expect_minions: true
{%- if pillar_override %}
    - pillar: {{ pillar_override | json }}
{%- endif %}
    - require:
      - salt: glance-orchestrate-deploy-primary
{%- endif %}

glance-orchestrate-deploy-images:
  salt.state:
    - tgt: {{ orchestrate.primary | yaml_dquote }}
    - tgt_type: compound
    - sls: glance.server.images
    - expect_minions: true
{%- if pillar_override %}
    - pillar: {{ pillar_override | json }}
{%- endif %}
    - require:
      - salt: {{ 'glance-orchestrate-deploy-secondaries' if orchestrate.secondaries
                 else 'glance-orchestrate-deploy-primary' }}
