# Toolchain and local cluster targets, included by the top-level Makefile.
# Other targets depend on them through the variables below, e.g.
#   up: $(CLUSTER_UP)        test: $(TOOLCHAIN)
# and run tools with the toolchain's environment: $(TOOLCHAIN_ENV) pulumi ...
TOOLCHAIN_DIR := toolchain
TOOLCHAIN := toolchain
CLUSTER_UP := cluster-up
CLUSTER_KUBECONFIG := $(CURDIR)/.cache/cluster/kubeconfig
# Prefix for recipe lines that need the toolchain on PATH and the offline Pulumi settings.
TOOLCHAIN_ENV := source $(TOOLCHAIN_DIR)/env.sh && KUBECONFIG=$(CLUSTER_KUBECONFIG)

.PHONY: toolchain cluster-up cluster-down cluster-status cluster-check

# Builds what is missing into $(B00T_CACHE)/toolchain; a warm run takes seconds.
toolchain:
	@bash $(TOOLCHAIN_DIR)/build.sh

# The environment whose b00t:gpuInventory and b00t:kueue give the fake nodes: make cluster-up ENV=prod
ENV ?= dev
CLUSTER_PY := $(BIN)/python $(TOOLCHAIN_DIR)/cluster.py

# Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and the Kueue manager on
# 127.0.0.1 with fake nodes from Pulumi.$(ENV).yaml (when up already: syncs the nodes), writes
# $(CLUSTER_KUBECONFIG). It runs in the project's virtualenv (the nodes come from b00t_pulumi).
cluster-up: venv toolchain
	@$(CLUSTER_PY) up --env $(ENV)

cluster-down: venv
	@$(CLUSTER_PY) down

cluster-status: venv
	@$(CLUSTER_PY) status

# Creates and deletes one object of each kind the project uses (Kueue CRs included).
cluster-check: cluster-up
	@$(CLUSTER_PY) check
