"""persist.json: the state directory, Go's JSON encoding and Kata's persistapi documents."""
