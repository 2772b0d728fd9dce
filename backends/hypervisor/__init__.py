"""Hypervisor backends: implementations of the engine's `Hypervisor` port (QEMU over QMP)."""
