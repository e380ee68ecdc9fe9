"""Unknown keys of the glance pillar, found at render time.

map.py (beside it) calls first_unknown_key() in Salt's own process while
map.jinja builds the map: the message for the first unknown key, or "".
Being a file of the state tree rather than a custom module, it works on the
very first state.apply, before any saltutil.sync. Plain functions, so that
tests import this file without Salt.

The declaration's notation is described in glance/parameters/schema.yaml.
"""
import difflib

FREE = "free"
EACH = "__each__"
# difflib's own default: close enough to be a misspelling, not a different word.
SUGGESTION_CUTOFF = 0.6
# Entries of the platform map that hold the defaults of glance:server and
# glance:bootstrap: those are set there, not through glance:lookup.
MAP_PILLAR_DEFAULTS = ("server", "bootstrap")

def first_unknown_key(schema, pillar, platform_map):
    """The message for the first unknown key below glance (PILLAR is the
    glance pillar), or ""."""
    messages = unknown_keys(declaration(schema, platform_map), pillar, "glance")
    return messages[0] if messages else ""


def declaration(schema, platform_map):
    """The declaration of everything below glance: schema.yaml's server and
    bootstrap, and for lookup the platform map's own structure with the free
    parts schema.yaml marks."""
    tree = dict(schema)
    # glance:server and glance:bootstrap are where those settings go.
    lookup_map = {key: value for key, value in (platform_map or {}).items() if key not in MAP_PILLAR_DEFAULTS}
    tree["lookup"] = overlay(map_structure(lookup_map), schema.get("lookup") or {})
    return tree


def map_structure(value):
    """The declaration a map value implies: a mapping's keys are known, a
    mapping left empty is filled with data (any key), anything else is a
    value."""
    if not isinstance(value, dict):
        return None
    if not value:
        return FREE
    return {str(key): map_structure(item) for key, item in value.items()}


def overlay(derived, declared):
    """DERIVED with the entries of DECLARED put over it, mappings merged."""
    if not isinstance(derived, dict) or not isinstance(declared, dict):
        return declared
    merged = dict(derived)
    for key, value in declared.items():
        merged[key] = overlay(derived.get(key), value)
    return merged


def unknown_keys(schema, data, path):
    """Messages for the keys of DATA (found at PATH) that SCHEMA does not
    declare, in sorted order, one per key; the first is the one to report."""
    if schema is None or schema == FREE:
        return []
    if not isinstance(schema, dict):
        raise ValueError(f"{path}: bad declaration {schema!r}; expected ~, free or a mapping")
    if set(schema) == {EACH}:
        if not isinstance(data, (list, tuple)):
            return []
        messages = []
        for index, item in enumerate(data):
            messages.extend(unknown_keys(schema[EACH], item, f"{path}:{index}"))
        return messages
    if not isinstance(data, dict):
        return []
    known = {str(key): value for key, value in schema.items()}
    messages = []
    for key in sorted(data, key=str):
        name = str(key)
        if name in known:
            messages.extend(unknown_keys(known[name], data[key], f"{path}:{name}"))
        else:
            messages.append(unknown_key_message(f"{path}:{name}", name, known))
    return messages


def unknown_key_message(path, name, known):
    nearest = difflib.get_close_matches(name, list(known), n=1, cutoff=SUGGESTION_CUTOFF)
    if nearest:
        return f"{path}: unknown key (did you mean {nearest[0]}?)"
    return f"{path}: unknown key; known keys: {', '.join(sorted(known))}"
