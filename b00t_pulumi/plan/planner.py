"""The planner: datums + environment settings -> Kubernetes object dicts with stable names.

Pure: no pulumi, no network. The CLI prints these objects; the Pulumi components create them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from b00t_pulumi.budget import cost as budget_cost
from b00t_pulumi.budget import items as budget_items
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.prices import PriceList, PricingError, price_list
from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import (
    AiModelDatum,
    CliDatum,
    Datum,
    DockerDatum,
    JobDatum,
    K8sDatum,
    StackDatum,
)
from b00t_pulumi.datum.orchestration import BudgetConstraint, GpuEpoch, GpuRequirements, Orchestration
from b00t_pulumi.datum.quantities import format_duration, to_dns1123
from b00t_pulumi.errors import PlanError, Problem, display_path
from b00t_pulumi.plan import crds, gpu
from b00t_pulumi.plan.env import SecretValue, expand, is_secret
from b00t_pulumi.plan.model import ClusterPlan, Endpoint, JobPlan, StackPlan
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta, namespace_object, sort_for_apply
from b00t_pulumi.settings import EnvironmentSettings

WAIT_IMAGE = "busybox:1.36"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class GpuNeed:
    """The GPUs a container gets, and how it batches."""

    requirements: GpuRequirements
    batch_group: str | None
    epoch: GpuEpoch | None

    @property
    def model_id(self) -> str | None:
        return self.epoch.model_id if self.epoch else None


class Planner:
    """Plans stacks, jobs and the cluster-wide objects (Kueue, time-slicing, CRDs)."""

    def __init__(self, catalog: Catalog, settings: EnvironmentSettings | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.settings = settings or EnvironmentSettings()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    # ------------------------------------------------------------------ helpers
    def _where(self, d: Datum) -> str:
        return display_path(d.source) if d.source else d.id

    def namespace_for(self, d: StackDatum | JobDatum) -> str:
        """The environment's namespace wins; else the datum's; else a required stack's; else default."""
        if self.settings.namespace:
            return self.settings.namespace
        if d.orch.k8s and d.orch.k8s.namespace:
            return d.orch.k8s.namespace
        if isinstance(d, JobDatum):
            for ref in d.orch.requires_stacks:
                st = self.catalog.find(ref if ref.endswith(".stack") else f"{ref}.stack")
                if isinstance(st, StackDatum):
                    return self.namespace_for(st)
        return DEFAULT_NAMESPACE

    def _base_labels(self, name: str, part_of: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": part_of,
            "app.kubernetes.io/part-of": part_of,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }

    def _env(self, owner: str, owner_datum: Datum, layers: Iterable[Mapping[str, str]], namespace: str,
             labels: dict[str, str], problems: list[Problem]) -> tuple[list[dict[str, Any]], K8sObject | None]:
        """Container env (plain values and secretKeyRefs) and the Secret holding the secret ones."""
        merged: dict[str, str] = {}
        for layer in layers:
            merged.update(layer)
        env: list[dict[str, Any]] = []
        secret_data: dict[str, SecretValue] = {}
        secret_name = f"{owner}-env"
        for name in sorted(merged):
            template = merged[name]
            exp = expand(template, self.environ)
            if is_secret(name, template):
                secret_data[name] = SecretValue(exp.value, template, not exp.missing)
                env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": name}}})
            else:
                if exp.missing:
                    problems.append(Problem(self._where(owner_datum), f"env.{name}",
                                            f"${{{exp.missing[0]}}} is not set and has no default: "
                                            "the value is empty", "warning"))
                env.append({"name": name, "value": exp.value})
        secret = None
        if secret_data:
            secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": meta(secret_name, namespace, labels=labels), "stringData": secret_data}
        return env, secret

    def _resources(self, orch: Orchestration, fallback: Orchestration | None,
                   need: GpuNeed | None) -> dict[str, Any]:
        rr = orch.resource_requirements or (fallback.resource_requirements if fallback else None)
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        if rr and rr.cpu:
            requests["cpu"] = rr.cpu
        if rr and rr.memory:
            requests["memory"] = rr.memory
            limits["memory"] = rr.memory
        if need and need.requirements.count:
            limits[gpu.GPU_RESOURCE] = str(need.requirements.count)
        out: dict[str, Any] = {}
        if requests:
            out["requests"] = requests
        if limits:
            out["limits"] = limits
        return out

    def _gpu_scheduling(self, pod: dict[str, Any], need: GpuNeed, where: str) -> None:
        req = need.requirements
        affinity: dict[str, Any] = {}
        if req.gpu_type:
            affinity["nodeAffinity"] = gpu.node_affinity(req.gpu_type, shared=req.shared, where=where)
        if need.batch_group:
            affinity["podAffinity"] = gpu.batch_pod_affinity(need.batch_group, need.model_id)
        if affinity:
            pod["affinity"] = affinity
        pod["tolerations"] = [dict(gpu.GPU_TOLERATION)]

    def _gpu_labels(self, need: GpuNeed | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if need and need.batch_group:
            out["b00t.io/gpu-batch-group"] = need.batch_group
        if need and need.model_id:
            out["b00t.io/model-id"] = need.model_id
        return out

    def _gpu_annotations(self, need: GpuNeed | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if need is None:
            return out
        if need.requirements.gpu_type:
            out["b00t.io/gpu-type"] = need.requirements.gpu_type
        if need.requirements.memory:
            out["b00t.io/gpu-memory"] = need.requirements.memory
        if need.requirements.shared:
            out["b00t.io/gpu-shared"] = "true"
        if need.epoch:
            out["b00t.io/gpu-epoch-window"] = format_duration(need.epoch.batch_window)
            out["b00t.io/gpu-epoch-max-concurrent-jobs"] = str(need.epoch.max_concurrent_jobs)
        return out

    def _check_shared(self, need: GpuNeed, where: str) -> None:
        if need.requirements.shared and need.requirements.count > 1:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.count",
                                     f"a time-sliced GPU is requested one at a time (failRequestsGreaterThanOne): "
                                     f"count is {need.requirements.count}; use count = 1 or shared = false")])

    # ------------------------------------------------------------------ GPU members
    def gpu_members(self, stack: StackDatum, dockers: list[DockerDatum]) -> dict[str, GpuNeed]:
        """Which docker members get GPUs: their own gpu_requirements, the stack's gpu_members, or
        the only docker member of a stack with gpu_requirements. Several members and no choice is an error."""
        so = stack.orch
        out: dict[str, GpuNeed] = {}
        for d in dockers:
            if d.orch.gpu_requirements:
                out[d.id] = GpuNeed(d.orch.gpu_requirements, d.orch.gpu_batch_group or so.gpu_batch_group,
                                    d.orch.gpu_epoch or so.gpu_epoch)
        if so.gpu_requirements is None:
            return out
        stack_need = GpuNeed(so.gpu_requirements, so.gpu_batch_group, so.gpu_epoch)
        chosen = so.k8s.gpu_members if so.k8s and so.k8s.gpu_members is not None else None
        if chosen is not None:
            ids = {d.id: d for d in dockers}
            for i, ref in enumerate(chosen):
                target = self.catalog.find(ref)
                if target is None or target.id not in ids:
                    raise PlanError([Problem(self._where(stack), f"b00t.orchestration.k8s.gpu_members[{i}]",
                                             f"{ref!r} is not a docker member of this stack; docker members: "
                                             f"{', '.join(sorted(ids)) or '(none)'}")])
                out.setdefault(target.id, stack_need)
            return out
        if out:
            return out  # members declared their own GPUs; the stack's requirements describe them
        if len(dockers) == 1:
            out[dockers[0].id] = stack_need
            return out
        if not dockers:
            return out
        names = ", ".join(d.id for d in dockers)
        raise PlanError([Problem(
            self._where(stack), "b00t.orchestration.gpu_requirements",
            f"the stack asks for GPUs but has {len(dockers)} docker members ({names}): say which get them "
            "with [b00t.orchestration.k8s] gpu_members = [\"<name>.docker\", ...], or put gpu_requirements "
            "in the member datums")])

    # ------------------------------------------------------------------ stacks
    def plan_stack(self, name_or_stack: str | StackDatum) -> StackPlan:
        stack = name_or_stack if isinstance(name_or_stack, StackDatum) else self.catalog.stack(name_or_stack)
        ns = self.namespace_for(stack)
        plan = StackPlan(stack=stack, namespace=ns)
        problems: list[Problem] = []
        members = self.catalog.members(stack)
        dockers = [m for m in members if isinstance(m, DockerDatum)]
        models = [m for m in members if isinstance(m, AiModelDatum)]
        for m in members:
            if isinstance(m, CliDatum):
                plan.notes.append(f"{m.id} is a host tool (cli): not deployed to Kubernetes")
            elif isinstance(m, K8sDatum):
                chart = f" ({m.chart_path})" if m.chart_path else ""
                plan.notes.append(f"{m.id} is a Helm chart{chart}: install it with helm; not rendered here")
            elif not isinstance(m, DockerDatum | AiModelDatum):
                plan.notes.append(f"{m.id}: type {m.type!r} is not deployed by b00t-pulumi")
        needs = self.gpu_members(stack, dockers)
        so = stack.orch
        budget_name = f"{stack.name}-budget" if so.budget_constraint else None
        k8s = so.k8s

        model_volumes: list[tuple[AiModelDatum, str]] = []
        for model in models:
            claim = f"{to_dns1123(model.name, 50)}-models"
            model_volumes.append((model, claim))
            plan.objects.append(self._pvc(claim, ns, self._base_labels(to_dns1123(model.name), stack.name)
                                          | {"b00t.io/stack": stack.name, "b00t.io/ai-model": to_dns1123(model.name)},
                                          self.settings.model_volume_size, "ReadWriteOnce"))
        if models:
            plan.notes.append("model weights are not copied: fill the PVCs "
                              + ", ".join(c for _, c in model_volumes) + " once (e.g. a download Job)")

        for d in dockers:
            if not d.image:
                problems.append(Problem(self._where(d), "b00t.image",
                                        "required to deploy: Kubernetes runs a pushed image; this datum has none"))
                continue
            need = needs.get(d.id)
            if need:
                self._check_shared(need, self._where(d))
            labels = self._base_labels(d.name, stack.name) | {"b00t.io/stack": stack.name,
                                                              "b00t.io/member": d.id} | self._gpu_labels(need)
            if so.queue_name:
                labels[QUEUE_LABEL] = so.queue_name
            selector = {"app.kubernetes.io/name": d.name, "app.kubernetes.io/instance": stack.name}
            args = d.run
            # Upstream semantics: the member's own env, then docker -e, then the stack's env on top.
            env, secret = self._env(d.name, d, [args.env, d.env, stack.env], ns,
                                    self._base_labels(d.name, stack.name) | {"b00t.io/stack": stack.name}, problems)
            if secret:
                plan.objects.append(secret)
            if args.restart and args.restart.split(":")[0] == "no":
                plan.notes.append(f"{d.id}: --restart no has no Deployment equivalent (pods always restart)")
            for note in args.notes:
                plan.notes.append(f"{d.id}: {note}")

            volumes: list[dict[str, Any]] = []
            mounts: list[dict[str, Any]] = []
            for vol in args.volumes:
                claim = f"{d.name}-{vol.claim_suffix()}"[:63].rstrip("-")
                vname = to_dns1123(vol.claim_suffix(), 63)
                plan.objects.append(self._pvc(claim, ns, self._base_labels(d.name, stack.name)
                                              | {"b00t.io/stack": stack.name},
                                              (k8s.storage if k8s and k8s.storage else self.settings.volume_size),
                                              "ReadWriteOnce", k8s.storage_class if k8s else None))
                if not vol.is_named:
                    plan.notes.append(f"{d.id}: bind mount {vol.source} became PersistentVolumeClaim {claim}")
                volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim}})
                mounts.append({"name": vname, "mountPath": vol.target, **({"readOnly": True} if vol.read_only else {})})
            if need or not any(needs.values()):
                for model, claim in model_volumes:
                    vname = f"model-{to_dns1123(model.name, 50)}"
                    volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
                    mounts.append({"name": vname, "mountPath": model.mount_path, "readOnly": True})

            container: dict[str, Any] = {"name": d.name, "image": d.image}
            if d.command:
                container["command"] = list(d.command)
            if d.args:
                container["args"] = list(d.args)
            if args.ports:
                container["ports"] = [{"name": f"p{p.container_port}", "containerPort": p.container_port,
                                       "protocol": p.protocol} for p in args.ports]
            if env:
                container["env"] = env
            res = self._resources(d.orch, so, need)
            if res:
                container["resources"] = res
            if mounts:
                container["volumeMounts"] = mounts
            pod: dict[str, Any] = {"containers": [container]}
            if volumes:
                pod["volumes"] = volumes
            if need:
                self._gpu_scheduling(pod, need, self._where(d))

            annotations = self._gpu_annotations(need)
            if budget_name:
                annotations[budget_items.BUDGET_ANNOTATION] = budget_name

            spec: dict[str, Any] = {
                "selector": {"matchLabels": selector},
                "template": {"metadata": meta("", labels=labels | selector, annotations=annotations or None),
                             "spec": pod},
            }
            del spec["template"]["metadata"]["name"]
            if k8s and k8s.enable_auto_scaling:
                if k8s.min_replicas == 0:
                    plan.notes.append(f"{d.id}: min_replicas = 0 became 1 (HPA scale to zero needs the "
                                      "HPAScaleToZero feature gate)")
            else:
                spec["replicas"] = k8s.replicas if k8s and k8s.replicas is not None else 1
            deployment: K8sObject = {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "metadata": meta(d.name, ns, labels=labels, annotations=annotations or None),
                                     "spec": spec}
            plan.objects.append(deployment)
            hpa: K8sObject | None = None
            if k8s and k8s.enable_auto_scaling:
                hpa = {
                    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": meta(d.name, ns, labels=self._base_labels(d.name, stack.name)
                                     | {"b00t.io/stack": stack.name}),
                    "spec": {
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name},
                        "minReplicas": max(1, k8s.min_replicas),
                        "maxReplicas": k8s.max_replicas,
                        "metrics": [{"type": "Resource", "resource": {
                            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
                    },
                }
                plan.objects.append(hpa)
            if budget_name and so.budget_constraint:
                try:
                    priced = budget_cost.price_workload(deployment, prices=self.prices_for(so.currency), hpa=hpa,
                                                        gpu_candidates=self.gpu_candidates())
                except PricingError as exc:
                    problems.append(self._pricing_problem(stack, exc, f"Deployment {d.name}"))
                else:
                    _annotate(deployment, {budget_items.DAILY_COST_ANNOTATION: priced.cost.cents_up().to_json(),
                                           budget_items.CURRENCY_ANNOTATION: so.currency})
                    plan.notes += [f"{d.id}: {n}" for n in priced.notes] + list(priced.price_notes)
            if args.ports:
                plan.objects.append({
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": meta(d.name, ns, labels=self._base_labels(d.name, stack.name)
                                     | {"b00t.io/stack": stack.name}),
                    "spec": {"selector": selector, "ports": [
                        {"name": f"p{p.container_port}", "port": p.container_port,
                         "targetPort": p.container_port, "protocol": p.protocol} for p in args.ports]},
                })
                plan.endpoints.append(Endpoint(d.name, ns, tuple(p.container_port for p in args.ports)))

        if so.budget_constraint and budget_name:
            b, extra = self._budget(budget_name, ns, "Stack", stack, so.budget_constraint, so)
            plan.budget = b
            plan.budget_secrets = extra
        if problems and any(p.severity == "error" for p in problems):
            raise PlanError([p for p in problems if p.severity == "error"])
        plan.notes += [str(p) for p in problems]
        plan.objects = sort_for_apply(plan.objects)
        return plan

    def _pvc(self, name: str, ns: str, labels: dict[str, str], size: str, mode: str,
             storage_class: str | None = None) -> K8sObject:
        spec: dict[str, Any] = {"accessModes": [mode], "resources": {"requests": {"storage": size}}}
        if storage_class or self.settings.storage_class:
            spec["storageClassName"] = storage_class or self.settings.storage_class
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(name, ns, labels=labels),
                "spec": spec}

    def _budget(self, name: str, ns: str, kind: str, owner: StackDatum | JobDatum, bc: BudgetConstraint,
                orch: Orchestration) -> tuple[K8sObject, list[K8sObject]]:
        labels = {"app.kubernetes.io/managed-by": MANAGED_BY, f"b00t.io/{kind.lower()}": owner.name}
        extra: list[K8sObject] = []
        webhook = None
        if bc.n8n_webhook:
            secret_name = f"{name}-webhook"
            exp = expand(bc.n8n_webhook, self.environ)
            extra.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": meta(secret_name, ns, labels=labels),
                          "stringData": {"url": SecretValue(exp.value, bc.n8n_webhook, not exp.missing)}})
            webhook = (secret_name, "url")
        cr = crds.budget_constraint_cr(name, ns, kind, owner.name, bc, orch.currency, labels, webhook)
        return cr, extra

    # ------------------------------------------------------------------ prices (budget/cost.py)
    def prices_for(self, currency: str) -> PriceList:
        """``b00t:prices`` in a budget's currency (PricingError when it needs a rate that is not set)."""
        return price_list(self.settings.prices, currency)

    def gpu_candidates(self) -> list[str]:
        """GPU types a pod that names none may land on: those of b00t:gpuInventory."""
        return self.settings.gpu_inventory.gpu_types()

    def job_budget(self, job: JobDatum) -> tuple[str, BudgetConstraint, StackDatum | JobDatum] | None:
        """The budget a job counts in: its own, else the first required stack's (name, constraint, owner)."""
        if job.orch.budget_constraint:
            return f"{job.name}-budget", job.orch.budget_constraint, job
        for st in self.required_stacks(job):
            if st.orch.budget_constraint:
                return f"{st.name}-budget", st.orch.budget_constraint, st
        return None

    def job_cost(self, job: JobDatum) -> Money | None:
        """A run's estimated cost, as planned (None for a job that is not planned or not priced)."""
        if not job.image:
            return None
        ann = self.plan_job(job).job_object["metadata"].get("annotations", {})
        if budget_items.JOB_COST_ANNOTATION not in ann:
            return None
        return Money.of(ann[budget_items.JOB_COST_ANNOTATION], ann.get(budget_items.CURRENCY_ANNOTATION, "USD"))

    def _pricing_problem(self, owner: Datum, exc: PricingError, item: str) -> Problem:
        """A PricingError as a Problem in ``owner``'s file, at the datum key that would fix it."""
        keys = [k for k in exc.keys if k.startswith("b00t.")]
        if any(k.startswith("b00t:prices") for k in exc.keys):  # a price list in another currency
            bc = owner.orch.budget_constraint
            key = ("b00t.orchestration.budget_currency" if bc and not bc.currency and owner.orch.budget_currency
                   else "b00t.orchestration.budget_constraint.currency")
            return Problem(self._where(owner), key, f"{item}: {exc.message}")
        return Problem(self._where(owner), keys[0] if keys else "b00t.orchestration.budget_constraint",
                       f"{item}: {exc.message}")

    # ------------------------------------------------------------------ jobs
    def required_stacks(self, job: JobDatum) -> list[StackDatum]:
        out: list[StackDatum] = []
        for ref in job.orch.requires_stacks:
            st = self.catalog.find(ref if ref.endswith(".stack") else f"{ref}.stack")
            if isinstance(st, StackDatum):
                out.append(st)
        return out

    def job_gpu_need(self, job: JobDatum) -> GpuNeed | None:
        jo = job.orch
        if not jo.gpu_requirements:
            return None
        stacks = self.required_stacks(job)
        group = jo.gpu_batch_group or next((s.orch.gpu_batch_group for s in stacks if s.orch.gpu_batch_group), None)
        epoch = jo.gpu_epoch or next((s.orch.gpu_epoch for s in stacks if s.orch.gpu_epoch), None)
        return GpuNeed(jo.gpu_requirements, group, epoch)

    def plan_job(self, name_or_job: str | JobDatum, *, suspend: bool = False,
                 extra_labels: Mapping[str, str] | None = None,
                 extra_annotations: Mapping[str, str] | None = None) -> JobPlan:
        job = name_or_job if isinstance(name_or_job, JobDatum) else self.catalog.job(name_or_job)
        where = self._where(job)
        if not job.image:
            steps = len(job.workflow_steps)
            detail = f" (a workflow-style job with {steps} steps for b00t's runner)" if steps else ""
            raise PlanError([Problem(where, "b00t.image",
                                     f"required to plan a Kubernetes Job{detail}: set b00t.image and command")])
        ns = self.namespace_for(job)
        plan = JobPlan(job=job, namespace=ns)
        problems: list[Problem] = []
        jo = job.orch
        need = self.job_gpu_need(job)
        if need:
            self._check_shared(need, where)
        labels = self._base_labels(job.name, job.name) | {"b00t.io/job": job.name} | self._gpu_labels(need)
        labels.update(extra_labels or {})
        if jo.queue_name:
            labels[QUEUE_LABEL] = jo.queue_name

        init: list[dict[str, Any]] = []
        stack_env: dict[str, str] = {}
        for st in self.required_stacks(job):
            sp = self.plan_stack(st)
            for ep in sp.endpoints:
                checks = " && ".join(f"nc -z {ep.host} {p}" for p in ep.ports)
                init.append({
                    "name": f"wait-for-{ep.member}"[:63].rstrip("-"),
                    "image": WAIT_IMAGE,
                    "command": ["sh", "-c",
                                f"until {checks}; do echo 'waiting for {ep.member} ({st.name})'; sleep 2; done; "
                                f"echo '{ep.member} is ready'"],
                })
                stack_env[f"B00T_{to_dns1123(ep.member).upper().replace('-', '_')}_URL"] = ep.url
        env, secret = self._env(job.name, job, [stack_env, job.env], ns,
                                self._base_labels(job.name, job.name) | {"b00t.io/job": job.name}, problems)
        if secret:
            plan.objects.append(secret)
        container: dict[str, Any] = {"name": job.name, "image": job.image}
        if job.command:
            container["command"] = list(job.command)
        if job.args:
            container["args"] = list(job.args)
        if env:
            container["env"] = env
        res = self._resources(jo, None, need)
        if res:
            container["resources"] = res
        pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
        if init:
            pod["initContainers"] = init
        if need:
            self._gpu_scheduling(pod, need, where)

        annotations = self._gpu_annotations(need)
        budget = self.job_budget(job)
        if budget:
            name, bc, owner = budget
            currency = owner.orch.currency
            annotations[budget_items.BUDGET_ANNOTATION] = name
            try:
                cpj = Money(bc.cost_per_job, currency) if bc.cost_per_job is not None else None
                priced = budget_cost.price_workload(
                    {"kind": "Job", "metadata": {"name": job.name, "annotations": annotations},
                     "spec": {"template": {"spec": pod}}},
                    prices=self.prices_for(currency), duration_s=jo.estimated_duration, cost_per_job=cpj,
                    gpu_candidates=self.gpu_candidates())
            except PricingError as exc:
                culprit = owner if any(k.startswith("b00t:prices") for k in exc.keys) else job
                raise PlanError([self._pricing_problem(culprit, exc, f"Job {job.name} (budget {name})")]) from None
            annotations[budget_items.JOB_COST_ANNOTATION] = priced.cost.cents_up().to_json()
            annotations[budget_items.CURRENCY_ANNOTATION] = currency
            plan.notes += [f"{job.id}: {n}" for n in priced.notes] + list(priced.price_notes)
        if jo.estimated_duration:
            annotations["b00t.io/estimated-duration"] = format_duration(jo.estimated_duration)
        annotations.update(extra_annotations or {})
        spec: dict[str, Any] = {
            "backoffLimit": 2,
            "template": {"metadata": {"labels": dict(sorted(labels.items())),
                                      **({"annotations": dict(sorted(annotations.items()))} if annotations else {})},
                         "spec": pod},
        }
        if suspend:
            spec["suspend"] = True
        plan.objects.append({"apiVersion": "batch/v1", "kind": "Job",
                             "metadata": meta(job.name, ns, labels=labels, annotations=annotations or None),
                             "spec": spec})
        if jo.budget_constraint:
            b, extra = self._budget(f"{job.name}-budget", ns, "Job", job, jo.budget_constraint, jo)
            plan.budget = b
            plan.budget_secrets = extra
        if any(p.severity == "error" for p in problems):
            raise PlanError([p for p in problems if p.severity == "error"])
        plan.notes += [str(p) for p in problems]
        plan.objects = sort_for_apply(plan.objects)
        return plan

    # ------------------------------------------------------------------ cluster
    def selected_stacks(self) -> list[StackDatum]:
        wanted = self.settings.stacks
        all_stacks = sorted(self.catalog.stacks(), key=lambda s: s.name)
        if wanted is None:
            return all_stacks
        return [self.catalog.stack(n) for n in wanted]

    def selected_jobs(self, stacks: list[StackDatum]) -> list[JobDatum]:
        if self.settings.jobs is not None:
            return [self.catalog.job(n) for n in self.settings.jobs]
        names = {s.name for s in stacks}
        return sorted((j for j in self.catalog.jobs()
                       if j.image and all(r.removesuffix(".stack") in names for r in j.orch.requires_stacks)),
                      key=lambda j: j.name)

    def plan_cluster(self) -> ClusterPlan:
        """Everything to deploy for the environment: stacks, jobs, Kueue, time-slicing, CRDs."""
        stacks = self.selected_stacks()
        jobs = self.selected_jobs(stacks)
        cp = ClusterPlan()
        nested = {self.catalog.find(m).id for s in stacks for m in s.members  # type: ignore[union-attr]
                  if isinstance(self.catalog.find(m), StackDatum)}
        for s in stacks:
            if s.id in nested:
                cp.notes.append(f"{s.id} is planned as part of the stack that includes it")
                continue
            cp.stacks.append(self.plan_stack(s))
        for j in jobs:
            cp.jobs.append(self.plan_job(j))
        self._check_collisions(cp)
        namespaces = sorted({p.namespace for p in cp.stacks} | {p.namespace for p in cp.jobs})
        cp.namespaces = [namespace_object(n) for n in namespaces]
        if any(p.budget for p in cp.stacks) or any(p.budget for p in cp.jobs):
            cp.crds.append(crds.budget_constraint_crd())
        cp.kueue = self.plan_kueue(stacks, jobs)
        cp.time_slicing = self.plan_time_slicing(stacks, jobs)
        return cp

    def _check_collisions(self, cp: ClusterPlan) -> None:
        seen: dict[tuple[str, str, str, str], str] = {}
        problems: list[Problem] = []
        for owner, objs in [(p.stack.id, p.all_objects()) for p in cp.stacks] + \
                           [(p.job.id, p.all_objects()) for p in cp.jobs]:
            for o in objs:
                k = (o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
                if k in seen and seen[k] != owner:
                    problems.append(Problem(owner, "", f"{k[1]} {k[2]}/{k[3]} is also planned by {seen[k]}: "
                                            "deploy the stacks to different namespaces (b00t.orchestration.k8s."
                                            "namespace) or share the member through one stack"))
                seen.setdefault(k, owner)
        # A workload names its budget by name alone (b00t.io/budget-constraint), and the ledger counts by
        # that name: two BudgetConstraints of one name, even in two namespaces, would share one budget.
        budgets: dict[str, tuple[str, str]] = {}
        for owner_id, cr in [(p.stack.id, p.budget) for p in cp.stacks] + [(p.job.id, p.budget) for p in cp.jobs]:
            if cr is None:
                continue
            name, ns = cr["metadata"]["name"], cr["metadata"]["namespace"]
            if name in budgets and budgets[name][1] != ns:  # (the same namespace is reported above)
                problems.append(Problem(owner_id, "b00t.orchestration.budget_constraint",
                                        f"its budget is named {name}, as is the budget of {budgets[name][0]} in "
                                        f"namespace {budgets[name][1]}: workloads and the ledger name a budget by "
                                        "name only; rename one datum"))
            budgets.setdefault(name, (owner_id, ns))
        if problems:
            raise PlanError(problems)

    def plan_kueue(self, stacks: list[StackDatum], jobs: list[JobDatum]) -> list[K8sObject]:
        """ResourceFlavors per GPU type in use, one ClusterQueue, a LocalQueue per namespace and queue."""
        ks = self.settings.kueue
        queues: set[tuple[str, str]] = set()
        gpu_types: set[str] = set()
        for j in jobs:
            if j.orch.queue_name:
                queues.add((self.namespace_for(j), j.orch.queue_name))
            need = self.job_gpu_need(j)
            if need and need.requirements.gpu_type:
                gpu_types.add(need.requirements.gpu_type)
        for s in stacks:
            if s.orch.queue_name:
                queues.add((self.namespace_for(s), s.orch.queue_name))
                if s.orch.gpu_requirements and s.orch.gpu_requirements.gpu_type:
                    gpu_types.add(s.orch.gpu_requirements.gpu_type)
        if not queues:
            return []
        labels = {"app.kubernetes.io/managed-by": MANAGED_BY}
        api = "kueue.x-k8s.io/v1beta2"
        objs: list[K8sObject] = [{"apiVersion": api, "kind": "ResourceFlavor",
                                  "metadata": meta(ks.default_flavor, labels=labels), "spec": {}}]
        gpu_flavors: list[dict[str, Any]] = []
        for t in sorted(gpu_types):
            gpu.products(t, shared=False)  # unknown GPU names fail here, clearly
            objs.append({"apiVersion": api, "kind": "ResourceFlavor",
                         "metadata": meta(t, labels=labels | {"b00t.io/gpu-type": t}),
                         "spec": {"nodeLabels": {gpu.PRODUCT_LABEL: gpu.primary_product(t)},
                                  "tolerations": [dict(gpu.GPU_TOLERATION)]}})
            quota = ks.gpus.get(t)
            if quota is None:
                quota = sum(n.gpus * n.slots for n in self.settings.gpu_inventory.nodes if n.gpu_type == t)
            res: dict[str, Any] = {"name": gpu.GPU_RESOURCE, "nominalQuota": quota}
            if ks.borrowing_limit is not None:
                res["borrowingLimit"] = ks.borrowing_limit
            gpu_flavors.append({"name": t, "resources": [res]})
        groups: list[dict[str, Any]] = [{
            "coveredResources": ["cpu", "memory"],
            "flavors": [{"name": ks.default_flavor, "resources": [
                {"name": "cpu", "nominalQuota": ks.cpu}, {"name": "memory", "nominalQuota": ks.memory}]}],
        }]
        if gpu_flavors:
            groups.append({"coveredResources": [gpu.GPU_RESOURCE], "flavors": gpu_flavors})
        cq_spec: dict[str, Any] = {"namespaceSelector": {}, "queueingStrategy": ks.queueing_strategy,
                                   "resourceGroups": groups}
        if ks.cohort:
            cq_spec["cohortName"] = ks.cohort
        objs.append({"apiVersion": api, "kind": "ClusterQueue", "metadata": meta(ks.cluster_queue, labels=labels),
                     "spec": cq_spec})
        for ns, q in sorted(queues):
            objs.append({"apiVersion": api, "kind": "LocalQueue", "metadata": meta(q, ns, labels=labels),
                         "spec": {"clusterQueue": ks.cluster_queue}})
        return objs

    def plan_time_slicing(self, stacks: list[StackDatum], jobs: list[JobDatum]) -> list[K8sObject]:
        """The NVIDIA device-plugin time-slicing ConfigMap when anything shares a GPU (one key per GPU type):
        replicas = the largest max_concurrent_jobs among sharers of that GPU type, else the inventory's slots."""
        replicas: dict[str, int] = {}
        for s in stacks:
            members = [m for m in self.catalog.members(s) if isinstance(m, DockerDatum)]
            for need in self.gpu_members(s, members).values():
                self._add_sharer(replicas, need)
        for j in jobs:
            job_need = self.job_gpu_need(j)
            if job_need:
                self._add_sharer(replicas, job_need)
        if not replicas:
            return []
        ts = self.settings.time_slicing
        data = {t: _time_slicing_config(r) for t, r in sorted(replicas.items())}
        objs: list[K8sObject] = [{
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(ts.config_name, ts.namespace, labels={"app.kubernetes.io/managed-by": MANAGED_BY},
                             annotations={"b00t.io/device-plugin-config-keys": ",".join(sorted(replicas))}),
            "data": data,
        }]
        if ts.create_namespace:
            objs.insert(0, namespace_object(ts.namespace))
        if ts.patch_cluster_policy:
            objs.append({"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
                         "metadata": {"name": "cluster-policy"},
                         "spec": {"devicePlugin": {"config": {"name": ts.config_name,
                                                              "default": sorted(replicas)[0]}}}})
        return objs

    def _add_sharer(self, replicas: dict[str, int], need: GpuNeed) -> None:
        req = need.requirements
        if not req.shared or not req.gpu_type:
            return
        n = need.epoch.max_concurrent_jobs if need.epoch else 0
        if n <= 1:
            n = max((node.slots for node in self.settings.gpu_inventory.nodes if node.gpu_type == req.gpu_type),
                    default=2)
        replicas[req.gpu_type] = max(replicas.get(req.gpu_type, 1), n)


def _time_slicing_config(replicas: int) -> str:
    """The device plugin's config file (FACTS section 5), as the ConfigMap value."""
    return (
        "version: v1\n"
        "flags:\n"
        "  migStrategy: none\n"
        "sharing:\n"
        "  timeSlicing:\n"
        "    renameByDefault: false\n"
        "    failRequestsGreaterThanOne: true\n"
        "    resources:\n"
        "    - name: nvidia.com/gpu\n"
        f"      replicas: {replicas}\n"
    )


def _annotate(obj: K8sObject, annotations: Mapping[str, str]) -> None:
    """Add annotations to a workload and to its pod template (sorted, as ``meta`` writes them)."""
    for m in (obj["metadata"], obj["spec"]["template"]["metadata"]):
        m["annotations"] = dict(sorted({**m.get("annotations", {}), **annotations}.items()))
