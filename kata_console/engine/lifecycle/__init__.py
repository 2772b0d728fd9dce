"""The lifecycle engine: sandbox and container states and operations, the device manager,
what is sent to the guest, step events, plans. Uses the mount rules and persistence."""
