"""Host inspection: what a Kata node shows about its sandboxes outside the VM (state
directories, processes, network namespaces, shim sockets), joined per sandbox. Pure: the
facts come in through ports in `kata_console.engine.ports`."""
