"""The pure lifecycle engine: no textual, grpc, psutil, pyroute2 or qemu imports here.

Backends implement `kata_console.engine.ports`; the application wires them in.
"""
