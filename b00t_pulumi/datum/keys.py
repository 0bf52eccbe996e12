"""Which keys a datum may carry, and why.

Three kinds of key exist in a datum file:

* keys b00t-pulumi uses (the fields of the pydantic models in ``models.py``): validated strictly;
* keys b00t defines that do not matter to Kubernetes (``UPSTREAM_IGNORED``): accepted and ignored on
  purpose, and listed by ``b00t-pulumi validate --verbose`` and in docs/datums.md;
* anything else: an error naming the file, the key path and the closest known key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Fields of upstream b00t's ``BootDatum`` (b00t-c0re-lib/src/lib.rs) that mean nothing to Kubernetes.
BOOT_DATUM_IGNORED: frozenset[str] = frozenset(
    {
        "status", "enabled", "status_msg", "replacement", "git_attributes", "desires", "auto_install",
        "skills", "compliance", "install", "update", "version", "version_regex", "requires_sudo",
        "vsix_id", "script", "oci_uri", "resource_path", "keywords", "package_name", "ansible",
        "require", "aliases", "k0mmand3r", "mcp", "gate", "requirements", "url", "branch",
        "clone_path", "entangled_agents", "entangled_cli", "entangled_mcp", "entangled_ai_models",
        "entangled_apis", "entangled_docker", "entangled_k8s", "channel_prefix", "skill", "dsn",
        "justfile", "learn", "lfmf_category", "usage", "references", "provides", "protocol",
        "implements", "hook_detect", "hook_install", "hook_update", "hook_learn", "uninstall",
        "hook_uninstall", "chart_path", "values_file",
    }
)

# Tables that b00t's own datums use for b00t tooling (installers, agents, docs), seen in the
# upstream datum corpus; they do not describe anything that runs in Kubernetes.
B00T_TOOLING_IGNORED: frozenset[str] = frozenset(
    {
        "adversarial", "agent_hooks", "architecture", "capabilities", "cli", "container", "docker",
        "entangled", "hardware", "parent", "py", "raglite", "rhai", "task_state_checkpoint", "togaf",
        "unlocks", "maintenance", "stack", "job",
    }
)

UPSTREAM_IGNORED: frozenset[str] = BOOT_DATUM_IGNORED | B00T_TOOLING_IGNORED

# Top-level tables of a datum file besides [b00t].
TOP_LEVEL_USED = frozenset({"b00t", "env", "ai_model"})
TOP_LEVEL_IGNORED = frozenset({"roles", "validate", "version", "stack"})


def closest(key: str, known: Iterable[str]) -> str | None:
    """The known key most like ``key``, if any is close."""
    matches = difflib.get_close_matches(key, sorted(set(known)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    known = sorted(set(known))
    near = closest(key, known)
    hint = f"did you mean {near!r}? " if near else ""
    return f"unknown key {key!r}: {hint}known keys here: {', '.join(known)}"
