"""The b00t operator: keeps budgets and holds true on a running cluster (``b00t-pulumi operator``).

A pure core, like the planner and the budget controller: ``observed`` (views of Jobs, Workloads,
Deployments, BudgetConstraints), ``holds`` (epoch, deferral, dependencies), ``kueue`` (answers to the
``b00t-budget`` AdmissionCheck), ``spend`` (actual cost from pod times), ``status`` (BudgetConstraint
status), ``book`` (the ledger writes: admit, settle, accrue) and ``reconciler`` (store, queue, loop).
``kube`` writes through the Kubernetes client; ``face`` is the only module that imports kopf, and
only ``b00t-pulumi operator`` imports it.
"""
