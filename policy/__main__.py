"""The b00t-budget CrossGuard policy pack: a thin face over b00t_pulumi.policy.rules.

Run: pulumi preview --policy-pack policy --policy-pack-config policy/prod.json
"""

from __future__ import annotations

from b00t_pulumi.policy.pack import build_pack

build_pack()
