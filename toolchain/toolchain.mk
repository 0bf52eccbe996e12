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

# Starts etcd + kube-apiserver on 127.0.0.1 (no-op when already up), installs the Kueue CRDs,
# writes $(CLUSTER_KUBECONFIG).
cluster-up: toolchain
	@python3 $(TOOLCHAIN_DIR)/cluster.py up

cluster-down:
	@python3 $(TOOLCHAIN_DIR)/cluster.py down

cluster-status:
	@python3 $(TOOLCHAIN_DIR)/cluster.py status

# Creates and deletes one object of each kind the project uses (Kueue CRs included).
cluster-check: cluster-up
	@python3 $(TOOLCHAIN_DIR)/cluster.py check
