# Standalone: no pillar at all; the formula's embedded default applies
# (SQLite, file store, no Keystone, 127.0.0.1:9292).
{}
