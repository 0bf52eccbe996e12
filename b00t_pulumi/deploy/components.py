"""Pulumi ComponentResources over the planner: B00tStack, B00tJob, KueueQueues, GpuTimeSlicing,
BudgetConstraint (B00tCluster, everything at once, is in ``cluster.py``). Each creates typed
pulumi_kubernetes resources from planned objects, parented to itself, and registers its outputs.

``B00tStack`` has the typed face of the Pulumi package (``B00tStack(name, {"stack": ...})``, also from
YAML and TypeScript, see docs/pulumi.md); ``B00tStack.from_plan`` takes a planned stack, as
``B00tCluster`` does. The others take planned objects and are used by ``B00tCluster``.

No ``from __future__ import annotations``: Pulumi's component analyzer reads the annotations as types.
"""

from collections.abc import Sequence
from typing import Any

import pulumi

from b00t_pulumi.deploy.args import B00tStackArgs
from b00t_pulumi.deploy.resources import SKIP_AWAIT, SecretResolver, create, resource_name
from b00t_pulumi.gates.budget_gate import BudgetGate
from b00t_pulumi.gates.decisions import PREFERRED_NODES, GateFields, gate_fields, hpa_floor
from b00t_pulumi.gates.epoch_plan import EpochPlan
from b00t_pulumi.plan.crds import budget_constraint_crd
from b00t_pulumi.plan.labels import QUEUE_LABEL
from b00t_pulumi.plan.model import JobPlan, StackPlan
from b00t_pulumi.plan.objects import K8sObject

_WORKLOAD_KINDS = ("Deployment", "Job", "HorizontalPodAutoscaler", "Service")


def _child(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))


def _gated(obj: K8sObject, budget_gate: BudgetGate | None, epoch_plan: EpochPlan | None, *,
           operator: bool = True, hpa_floor: int | None = None) -> K8sObject | None:
    """The object with the gates' decision as Output leaves (epoch label and planned start, suspend,
    deferral). Only those values are unknown during a preview; every other field stays known.
    ``hpa_floor``: a Deployment an HPA scales gets replicas (0 while deferred, else the floor).

    A queued Job's ``suspend`` is Kueue's (it unsuspends on admission whoever set it), so its hold is:
    with the b00t operator (``operator``), the b00t-budget AdmissionCheck, which reads the annotations;
    without it, the Job joins the held queue instead of its own (``b00t-held``, whose ClusterQueue has
    ``stopPolicy: Hold``) until a later ``pulumi up`` moves it back."""
    if budget_gate is None and epoch_plan is None:
        return None
    name = obj["metadata"]["name"]
    flags: dict[str, Any] = {"epoch": epoch_plan is not None, "budget": budget_gate is not None,
                             "kind": obj["kind"]}
    deferred = budget_gate.deferred if budget_gate else pulumi.Output.from_input({})
    assignments = epoch_plan.assignments if epoch_plan else pulumi.Output.from_input({})
    decision: pulumi.Output[GateFields] = pulumi.Output.all(deferred, assignments).apply(
        lambda a: gate_fields(name, assignment=(a[1] or {}).get(name), deferred=a[0] or {}, **flags))
    keys = gate_fields(name, assignment=None, deferred=None, **flags)
    out: dict[str, Any] = {**obj}
    meta = {**obj["metadata"], "labels": dict(obj["metadata"].get("labels", {})),
            "annotations": dict(obj["metadata"].get("annotations", {}))}
    spec = {**obj["spec"]}
    template = {**spec["template"], "metadata": {**spec["template"].get("metadata", {})}}
    pod_labels = dict(template["metadata"].get("labels", {}))
    def label(key: str) -> pulumi.Output[str]:
        return decision.apply(lambda f: f.labels[key])

    def annotation(key: str) -> pulumi.Output[str]:
        return decision.apply(lambda f: f.annotations[key])

    for k in keys.labels:
        meta["labels"][k] = pod_labels[k] = label(k)
    for k in keys.annotations:
        meta["annotations"][k] = annotation(k)
    if keys.labels:
        template["metadata"]["labels"] = pod_labels
    if obj["kind"] == "Job" and epoch_plan is not None:  # the planned node, preferred (gates/decisions.py)
        pod = {**template.get("spec", {})}
        affinity = {**pod.get("affinity", {})}
        node_affinity = {**affinity.get("nodeAffinity", {})}
        planned_terms = list(node_affinity.get(PREFERRED_NODES, []))
        node_affinity[PREFERRED_NODES] = decision.apply(lambda f: f.preferred_nodes(planned_terms))
        affinity["nodeAffinity"] = node_affinity
        pod["affinity"] = affinity
        template["spec"] = pod
    spec["template"] = template
    queue = meta["labels"].get(QUEUE_LABEL)
    if obj["kind"] == "Job" and queue and not operator:
        meta["labels"][QUEUE_LABEL] = decision.apply(lambda f: f.job_queue(queue))
    elif obj["kind"] == "Job" and not queue:
        held = bool(spec.get("suspend"))  # the planner's own hold (job dependencies)
        spec["suspend"] = decision.apply(lambda f: f.job_suspend(held))
    elif obj["kind"] == "Deployment" and budget_gate is not None and ("replicas" in spec or hpa_floor is not None):
        # 0 while deferred, with or without an HPA (the HPA does not scale a target at 0); else as
        # planned, or the HPA's floor for one an HPA scales
        planned = spec.get("replicas")
        spec["replicas"] = decision.apply(lambda f: f.replicas(planned, hpa_floor))
        count = planned if planned is not None else hpa_floor
        if count is not None:  # what the b00t operator gives a deferred Deployment back in its window
            meta["annotations"]["b00t.io/replicas"] = str(count)
    out["metadata"], out["spec"] = meta, spec
    return out


def _unawaited_when_deferred(service: K8sObject, budget_gate: BudgetGate) -> K8sObject:
    """Pulumi waits for a Service to have endpoints; a Service whose Deployment the budget deferred (0
    replicas) never gets any, so then it is not waited for."""
    name = service["metadata"]["name"]
    skip = budget_gate.deferred.apply(lambda d: "true" if name in (d or {}) else "false")
    meta = {**service["metadata"], "annotations": {**service["metadata"].get("annotations", {}), SKIP_AWAIT: skip}}
    return {**service, "metadata": meta}


class BudgetConstraint(pulumi.ComponentResource):
    """A BudgetConstraint custom resource (and its webhook Secret), after its CRD.

    Pass ``crd`` when the CRD is created elsewhere (once per cluster); without it the component
    creates the CRD itself.
    """

    TYPE = "b00t:index:BudgetConstraint"

    def __init__(self, name: str, cr: K8sObject, extra: Sequence[K8sObject] = (), *,
                 crd: pulumi.Resource | None = None, secrets: SecretResolver | None = None,
                 depends_on: Sequence[pulumi.Resource] = (), skip_await: bool = False, create_crd: bool = True,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {"constraint": cr["metadata"]["name"]}, opts)
        if crd is None and create_crd:
            crd = self.definition(pulumi.ResourceOptions(parent=self), skip_await=skip_await)
        self.secrets = [create(o, _child(self, depends_on), secrets=secrets, skip_await=skip_await) for o in extra]
        after = [*([crd] if crd is not None else []), *depends_on, *self.secrets]
        self.resource = create(cr, _child(self, after), skip_await=skip_await)
        spec = cr["spec"]
        self.daily_limit: str = spec["dailyLimit"]
        self.currency: str = spec["currency"]
        self.on_budget_exceeded: str = spec["onBudgetExceeded"]
        self.register_outputs({"name": cr["metadata"]["name"], "namespace": cr["metadata"]["namespace"],
                               "dailyLimit": self.daily_limit, "currency": self.currency,
                               "onBudgetExceeded": self.on_budget_exceeded})

    @staticmethod
    def definition(opts: pulumi.ResourceOptions | None = None, *, skip_await: bool = False
                   ) -> pulumi.CustomResource:
        """The BudgetConstraint CRD (create once per cluster)."""
        return create(budget_constraint_crd(), opts or pulumi.ResourceOptions(), skip_await=skip_await)


class B00tStack(pulumi.ComponentResource):
    """A b00t stack: its Secrets, PVCs, Deployments, Services and HPAs, its BudgetConstraint and the
    budget gate its workloads follow, planned from the stack's datums."""

    TYPE = "b00t:index:B00tStack"

    namespace: pulumi.Output[str]
    """Namespace of the stack's objects."""
    endpoints: pulumi.Output[dict[str, str]]
    """Member -> URL of its Service inside the cluster."""
    deployments: pulumi.Output[list[str]]
    """Names of the stack's Deployments."""
    budget_constraint: pulumi.Output[str] | None
    """Name of its BudgetConstraint, when it has a budget."""
    notes: pulumi.Output[list[str]]
    """What the planner noted (members not deployed, bind mounts made PVCs, ...)."""

    def __init__(self, name: str, args: B00tStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Plan ``args["stack"]`` from its datums with the settings of ``args`` (default: the stack's
        ``b00t:*`` config) and create it with its budget and budget gate."""
        from b00t_pulumi.deploy.cluster import plan_context

        ctx = plan_context(args, owner=f"B00tStack {name}")
        plan = ctx.planner.plan_stack(args["stack"])
        self._init(name, plan, opts=opts, skip_await=ctx.settings.skip_await, secrets=ctx.secrets,
                   budget_crd=None, depends_on=(), budget_gate=None, manage_budget=True,
                   create_crd=args.get("create_budget_crd", True), gate=ctx.gate_input_of(plan))

    @classmethod
    def from_plan(cls, name: str, plan: StackPlan, *, skip_await: bool = False,
                  secrets: SecretResolver | None = None, budget_crd: pulumi.Resource | None = None,
                  depends_on: Sequence[pulumi.Resource] = (), budget_gate: BudgetGate | None = None,
                  manage_budget: bool = True, opts: pulumi.ResourceOptions | None = None) -> "B00tStack":
        """A planned stack. ``budget_gate``: workloads wait for it and follow its deferrals.
        ``manage_budget=False`` when the caller creates the BudgetConstraint (B00tCluster does, so
        its gate can follow the CR)."""
        self = cls.__new__(cls)
        self._init(name, plan, opts=opts, skip_await=skip_await, secrets=secrets, budget_crd=budget_crd,
                   depends_on=depends_on, budget_gate=budget_gate, manage_budget=manage_budget,
                   create_crd=budget_crd is None, gate=None)
        return self

    def _init(self, name: str, plan: StackPlan, *, opts: pulumi.ResourceOptions | None, skip_await: bool,
              secrets: SecretResolver | None, budget_crd: pulumi.Resource | None,
              depends_on: Sequence[pulumi.Resource], budget_gate: BudgetGate | None, manage_budget: bool,
              create_crd: bool, gate: dict[str, Any] | None) -> None:
        pulumi.ComponentResource.__init__(self, self.TYPE, name, {"stack": plan.stack.name}, opts)
        self.plan = plan
        self.resources: dict[str, pulumi.CustomResource] = {}
        base = list(depends_on)
        self.budget: BudgetConstraint | None = None
        if plan.budget and manage_budget:
            self.budget = BudgetConstraint(f"{name}-budget", plan.budget, plan.budget_secrets, crd=budget_crd,
                                           secrets=secrets, skip_await=skip_await, create_crd=create_crd,
                                           depends_on=base, opts=pulumi.ResourceOptions(parent=self))
            if gate is not None:
                budget_gate = BudgetGate(f"budget-gate-{gate['constraint_id']}", gate,
                                         opts=pulumi.ResourceOptions(parent=self, depends_on=[self.budget]))
        self.budget_gate = budget_gate
        storage = [o for o in plan.objects if o["kind"] in ("Secret", "PersistentVolumeClaim", "ConfigMap")]
        for o in storage:
            self.resources[resource_name(o)] = create(o, _child(self, base), skip_await=skip_await, secrets=secrets)
        ready = base + list(self.resources.values()) + ([budget_gate] if budget_gate else [])
        for o in plan.objects:
            if o in storage:
                continue
            gated = (_gated(o, budget_gate, None, hpa_floor=hpa_floor(o, plan.objects))
                     if o["kind"] == "Deployment" else None)
            if o["kind"] == "Service" and budget_gate is not None:
                gated = _unawaited_when_deferred(o, budget_gate)
            self.resources[resource_name(o)] = create(gated or o, _child(self, ready), skip_await=skip_await,
                                                      secrets=secrets)
        deployments = sorted(o["metadata"]["name"] for o in plan.objects if o["kind"] == "Deployment")
        self.namespace = pulumi.Output.from_input(plan.namespace)
        self.endpoints = pulumi.Output.from_input({ep.member: ep.url for ep in plan.endpoints})
        self.deployments = pulumi.Output.from_input(deployments)
        self.budget_constraint = pulumi.Output.from_input(plan.budget["metadata"]["name"]) if plan.budget else None
        self.notes = pulumi.Output.from_input(list(plan.notes))
        self.register_outputs({
            "namespace": plan.namespace,
            "endpoints": {ep.member: ep.url for ep in plan.endpoints},
            "deployments": deployments,
            "budgetConstraint": plan.budget["metadata"]["name"] if plan.budget else None,
            "notes": plan.notes,
        })


class B00tJob(pulumi.ComponentResource):
    """A b00t job: its Kubernetes Job (waiting for its stacks, queued in Kueue) and its budget."""

    TYPE = "b00t:index:B00tJob"

    def __init__(self, name: str, plan: JobPlan, *, skip_await: bool = False,
                 secrets: SecretResolver | None = None, budget_crd: pulumi.Resource | None = None,
                 depends_on: Sequence[pulumi.Resource] = (), budget_gate: BudgetGate | None = None,
                 epoch_plan: EpochPlan | None = None, manage_budget: bool = True, operator: bool = False,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``epoch_plan`` (pass it only for a Job the plan includes): the Job carries its epoch and waits
        for a later one; ``budget_gate``: the Job waits for the next window when the budget defers it.
        ``operator``: the environment runs the b00t operator, which holds a queued Job through Kueue's
        b00t-budget AdmissionCheck; without it a held queued Job leaves its queue and waits suspended."""
        super().__init__(self.TYPE, name, {"job": plan.job.name}, opts)
        self.plan = plan
        base = list(depends_on)
        self.secrets = [create(o, _child(self, base), skip_await=skip_await, secrets=secrets)
                        for o in plan.objects if o["kind"] == "Secret"]
        gates: list[pulumi.Resource] = [g for g in (budget_gate, epoch_plan) if g is not None]
        after = base + self.secrets + gates
        gated = _gated(plan.job_object, budget_gate, epoch_plan, operator=operator)
        # Never wait for a Job in `pulumi up`: Kueue, its epoch and its budget decide when it runs.
        self.job = create(gated or plan.job_object, _child(self, after), skip_await=True, secrets=secrets)
        self.budget: BudgetConstraint | None = None
        if plan.budget and manage_budget:
            self.budget = BudgetConstraint(f"{name}-budget", plan.budget, plan.budget_secrets, crd=budget_crd,
                                           secrets=secrets, depends_on=base, skip_await=skip_await,
                                           opts=pulumi.ResourceOptions(parent=self))
        labels = plan.job_object["metadata"].get("labels", {})
        self.namespace: str = plan.namespace
        self.queue: str | None = labels.get("kueue.x-k8s.io/queue-name")
        self.register_outputs({"namespace": plan.namespace, "job": plan.job.name,
                               "queue": labels.get("kueue.x-k8s.io/queue-name")})


class KueueQueues(pulumi.ComponentResource):
    """Kueue v1beta2 ResourceFlavors, the b00t-budget AdmissionCheck, the ClusterQueue and LocalQueues (Kueue's
    CRDs must be installed; the b00t operator answers the AdmissionCheck)."""

    TYPE = "b00t:index:KueueQueues"

    def __init__(self, name: str, objects: Sequence[K8sObject], *, depends_on: Sequence[pulumi.Resource] = (),
                 skip_await: bool = False, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {}, opts)
        flavors = [create(o, _child(self, depends_on), skip_await=skip_await)
                   for o in objects if o["kind"] in ("ResourceFlavor", "AdmissionCheck")]
        queues = [create(o, _child(self, [*depends_on, *flavors]), skip_await=skip_await)
                  for o in objects if o["kind"] == "ClusterQueue"]
        self.local_queues = [create(o, _child(self, [*depends_on, *queues]), skip_await=skip_await)
                             for o in objects if o["kind"] == "LocalQueue"]
        self.cluster_queue = next((o["metadata"]["name"] for o in objects if o["kind"] == "ClusterQueue"), None)
        self.register_outputs({
            "clusterQueue": self.cluster_queue,
            "flavors": [o["metadata"]["name"] for o in objects if o["kind"] == "ResourceFlavor"],
            "admissionChecks": [o["metadata"]["name"] for o in objects if o["kind"] == "AdmissionCheck"],
            "localQueues": [f"{o['metadata']['namespace']}/{o['metadata']['name']}"
                            for o in objects if o["kind"] == "LocalQueue"],
        })


class GpuTimeSlicing(pulumi.ComponentResource):
    """The NVIDIA device-plugin time-slicing ConfigMap (and, when configured, the ClusterPolicy patch)."""

    TYPE = "b00t:index:GpuTimeSlicing"

    def __init__(self, name: str, objects: Sequence[K8sObject], *, depends_on: Sequence[pulumi.Resource] = (),
                 skip_await: bool = False, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {}, opts)
        ns = [create(o, _child(self, depends_on), skip_await=skip_await) for o in objects if o["kind"] == "Namespace"]
        cms = [create(o, _child(self, [*depends_on, *ns]), skip_await=skip_await)
               for o in objects if o["kind"] == "ConfigMap"]
        for o in objects:
            if o["kind"] == "ClusterPolicy":
                create(o, _child(self, [*depends_on, *cms]), skip_await=skip_await)
        cm = next((o for o in objects if o["kind"] == "ConfigMap"), None)
        self.register_outputs({"configMap": f"{cm['metadata']['namespace']}/{cm['metadata']['name']}" if cm else None,
                               "keys": sorted(cm["data"]) if cm else []})


class B00tOperator(pulumi.ComponentResource):
    """The b00t operator (``b00t_pulumi.operator.deploy``): namespace, ServiceAccount, RBAC, Deployment."""

    TYPE = "b00t:index:B00tOperator"

    def __init__(self, name: str, objects: Sequence[K8sObject], *, depends_on: Sequence[pulumi.Resource] = (),
                 skip_await: bool = False, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {}, opts)
        ns = [create(o, _child(self, depends_on), skip_await=skip_await) for o in objects if o["kind"] == "Namespace"]
        rest = [create(o, _child(self, [*depends_on, *ns]), skip_await=skip_await)
                for o in objects if o["kind"] not in ("Namespace", "Deployment")]
        for o in objects:
            if o["kind"] == "Deployment":
                create(o, _child(self, [*depends_on, *ns, *rest]), skip_await=skip_await)
        dep = next(o for o in objects if o["kind"] == "Deployment")
        self.register_outputs({"namespace": dep["metadata"]["namespace"],
                               "image": dep["spec"]["template"]["spec"]["containers"][0]["image"]})
