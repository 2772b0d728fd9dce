"""Live Kata host inspection backends: processes (psutil), network namespaces (pyroute2),
the shim's management socket (httpx), host facts. Each implements a port of
`kata_console.engine.ports` and answers with `kata_console.engine.inspect.facts`."""
