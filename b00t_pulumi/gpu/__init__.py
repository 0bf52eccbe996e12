"""GPUs: b00t GPU names and their products (``gpu.products``), and the capacity model of an
environment's GPU nodes (``gpu.capacity``) that flavors, quotas, time-slicing, affinities, the epoch
scheduler and the local cluster's fake nodes all derive from. Import from the submodules (settings
import ``gpu.products``; ``gpu.capacity`` imports settings)."""
