"""Plan one stack: its members' claims, Secrets, Deployments, Services, HPAs and its BudgetConstraint
(``Planner.plan_stack``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b00t_pulumi.plan.planner import Planner

from typing import Any

from b00t_pulumi.budget import cost as budget_cost
from b00t_pulumi.budget import items as budget_items
from b00t_pulumi.budget.prices import PricingError
from b00t_pulumi.datum.models import AiModelDatum, CliDatum, DockerDatum, K8sDatum, StackDatum
from b00t_pulumi.datum.quantities import to_dns1123
from b00t_pulumi.errors import Problem
from b00t_pulumi.plan import containers, gpu, labels, network, storage, workloads
from b00t_pulumi.plan.model import StackPlan
from b00t_pulumi.plan.needs import GpuNeed, where
from b00t_pulumi.plan.network import Endpoint
from b00t_pulumi.plan.objects import K8sObject


def plan_stack(planner: Planner, name_or_stack: str | StackDatum) -> StackPlan:
    stack = name_or_stack if isinstance(name_or_stack, StackDatum) else planner.catalog.stack(name_or_stack)
    ns = planner.namespace_for(stack)
    plan = StackPlan(stack=stack, namespace=ns)
    warnings: list[Problem] = []
    members = planner.catalog.members(stack)
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
    for d in dockers:
        warnings += containers.member_warnings(planner, stack, d)
        warnings += planner.epoch_warnings(d)
    warnings += planner.epoch_warnings(stack)
    needs = planner.gpu_members(stack, dockers)
    for d_id, member_need in needs.items():
        planner.check_need(member_need, member_need.source.split(": ")[0] or d_id)
    warnings += containers.schedule_warnings(planner, stack, bool(needs))
    so = stack.orch
    k8s = so.k8s
    budget_name = f"{stack.name}-budget" if so.budget_constraint else None
    claims: dict[str, K8sObject] = {}

    model_volumes: list[tuple[AiModelDatum, str]] = []
    for model in models:
        claim = f"{to_dns1123(model.name, 50)}-models"
        model_volumes.append((model, claim))
        claims[claim] = storage.claim(claim, ns, labels.of_stack(stack.name, to_dns1123(model.name))
                                      | {"b00t.io/ai-model": to_dns1123(model.name)},
                                      planner.settings.model_volume_size, planner.settings.model_volume_access_mode,
                                      planner.settings.storage_class)
    if models:
        plan.notes.append("model weights are not copied: fill the PVCs "
                          + ", ".join(c for _, c in model_volumes) + " once (e.g. a download Job)")

    # Services first: members that depend on other members wait for them.
    endpoints: dict[str, Endpoint] = {}
    for d in dockers:
        ports, host_bound = network.service_ports(d.run.ports)
        for p in host_bound:
            warnings.append(Problem(where(d), "b00t.docker_args",
                                    f"-p {p.host_ip}:{p.host_port}:{p.container_port} publishes on one host "
                                    "address only: the container declares the port, but no Service exposes it",
                                    "warning"))
        if ports and d.image:
            endpoints[d.id] = Endpoint(d.name, ns, tuple(ports))
    plan.endpoints = list(endpoints.values())

    for d in dockers:
        if not d.image:
            warnings.append(Problem(where(d), "b00t.image",
                                    "required to deploy: Kubernetes runs a pushed image; this datum has none",
                                    "error"))
            continue
        need = needs.get(d.id)
        obj_labels = labels.of_stack(stack.name, d.name)
        wl_labels = obj_labels | {labels.MEMBER_LABEL: d.id} | labels.schedule(so) \
            | labels.gpu(need.batch_group if need else None, need.model_id if need else None) \
            | labels.queue(so.queue_name)
        selector = labels.selector(d.name, stack.name)
        args = d.run
        # Upstream semantics: the member's own env, then docker -e, then the stack's env on top.
        env, secret = containers.container_env(planner, d.name, d, [args.env, d.env, stack.env], ns, obj_labels,
                                               warnings)
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
            claims[claim] = storage.claim(claim, ns, obj_labels,
                                          k8s.storage if k8s and k8s.storage else planner.settings.volume_size,
                                          storage.RWO, (k8s.storage_class if k8s else None)
                                          or planner.settings.storage_class)
            if not vol.is_named:
                plan.notes.append(f"{d.id}: bind mount {vol.source} became PersistentVolumeClaim {claim}")
            volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim}})
            mounts.append({"name": vname, "mountPath": vol.target, **({"readOnly": True} if vol.read_only else {})})
        if need or not any(needs.values()):
            for model, claim in model_volumes:
                vname = f"model-{to_dns1123(model.name, 50)}"
                volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
                mounts.append({"name": vname, "mountPath": model.mount_path, "readOnly": True})

        rr = d.orch.resource_requirements or so.resource_requirements
        def field(key: str, value: str, member: DockerDatum = d) -> str:
            return containers.expand_field(planner, member, key, value, warnings)

        c = workloads.container(
            d.name, field("b00t.image", d.image),
            command=[field(f"b00t.command[{i}]", a) for i, a in enumerate(d.command or [])],
            args=[field(f"b00t.args[{i}]", a) for i, a in enumerate(d.args)],
            env=env, res=workloads.resources(rr, need), ports=network.container_ports(args.ports), mounts=mounts)
        pod: dict[str, Any] = {"containers": [c]}
        init = member_waits(planner, stack, d, endpoints, plan.notes)
        if init:
            pod["initContainers"] = init
        if volumes:
            pod["volumes"] = volumes
        if need:
            gpu.scheduling(pod, need, planner.capacity, where(d))

        annotations = containers.gpu_annotations(need)
        if budget_name and so.budget_constraint:
            annotations |= labels.budget(budget_name, so.budget_constraint, so.currency)

        autoscale, fixed = autoscaling(planner, stack, d, need, pod, claims, rr, warnings)
        deployment = workloads.deployment(d.name, ns, wl_labels, annotations, selector, pod,
                                          None if autoscale else fixed)
        plan.objects.append(deployment)
        hpa: K8sObject | None = None
        if autoscale:
            assert k8s is not None
            hpa = workloads.hpa(d.name, ns, obj_labels, max(1, k8s.min_replicas), autoscale)
            plan.objects.append(hpa)
        if budget_name and so.budget_constraint:
            try:  # the one cost path (budget/cost.py), from the Deployment's own pod template
                priced = budget_cost.price_workload(deployment, prices=planner.prices_for(so.currency), hpa=hpa,
                                                    gpu_candidates=planner.gpu_candidates())
            except PricingError as exc:
                warnings.append(containers.pricing_problem(planner, stack, exc, f"Deployment {d.name}"))
            else:
                containers.annotate(deployment, {budget_items.DAILY_COST_ANNOTATION: priced.cost.cents_up().to_json(),
                                       budget_items.CURRENCY_ANNOTATION: so.currency})
                plan.notes += [f"{d.id}: {n}" for n in priced.notes] + list(priced.price_notes)
        if d.id in endpoints:
            plan.objects.append(network.service(d.name, ns, obj_labels, selector, list(endpoints[d.id].ports)))
    plan.objects = list(claims.values()) + plan.objects

    if so.budget_constraint and budget_name:
        plan.budget, plan.budget_secrets = containers.budget_objects(planner, budget_name, ns, "Stack", stack,
                                                                     so.budget_constraint, so)
    containers.finish(plan, warnings)
    return plan


def member_waits(planner: Planner, stack: StackDatum, d: DockerDatum, endpoints: dict[str, Endpoint],
                  notes: list[str]) -> list[dict[str, Any]]:
    """Init containers that wait for the Services of the members ``d`` depends on."""
    deps: list[Endpoint] = []
    for ref in d.depends_on:
        target = planner.catalog.find(ref)
        if not isinstance(target, DockerDatum) or target.id == d.id:
            continue  # host tools (cli) and datums outside the stack are b00t's, not Kubernetes'
        if target.id in endpoints:
            deps.append(endpoints[target.id])
        elif target in planner.catalog.members(stack):
            notes.append(f"{d.id} depends on {target.id}, which has no Service to wait for: they start together")
    return containers.waits(planner, deps, f"member of {stack.name}", d.id, notes)


def autoscaling(planner: Planner, stack: StackDatum, d: DockerDatum, need: GpuNeed | None, pod: dict[str, Any],
                 claims: dict[str, K8sObject], rr: Any, warnings: list[Problem]) -> tuple[int | None, int]:
    """(HPA max replicas or None, fixed replicas when there is no HPA)."""
    k8s = stack.orch.k8s
    fixed = k8s.replicas if k8s and k8s.replicas is not None else 1
    if not (k8s and k8s.enable_auto_scaling):
        return None, fixed
    key = "b00t.orchestration.k8s.enable_auto_scaling"
    floor = max(1, k8s.min_replicas)
    if k8s.min_replicas == 0:
        warnings.append(Problem(where(stack), "b00t.orchestration.k8s.min_replicas",
                                f"{d.id}: 0 became 1 (HPA scale to zero needs the HPAScaleToZero feature gate)",
                                "warning"))
    if not (rr and rr.cpu):
        warnings.append(Problem(where(stack), key, f"{d.id} has no CPU request (resource_requirements.cpu), so "
                                f"a CPU HPA cannot scale it: no HPA, {floor} replica(s)", "warning"))
        return None, floor
    rwo = storage.mounts_rwo(pod, claims)
    if rwo:
        warnings.append(Problem(where(stack), key, f"{d.id} mounts ReadWriteOnce claim(s) {', '.join(rwo)}: "
                                f"replicas on other nodes could not mount them, so no HPA, {floor} replica(s)",
                                "warning"))
        return None, floor
    top = k8s.max_replicas
    if need and need.gpu_type and need.count and planner.capacity.classes_of(need.gpu_type):
        room = planner.capacity.slices(need.gpu_type) // need.count
        if top > room:
            warnings.append(Problem(where(stack), "b00t.orchestration.k8s.max_replicas",
                                    f"{d.id}: {top} replicas need {top * need.count} {need.gpu_type} GPUs, the "
                                    f"inventory has {planner.capacity.slices(need.gpu_type)}: at most {room}",
                                    "warning"))
            top = max(room, floor)
    if top <= floor:
        return None, floor
    return top, floor
